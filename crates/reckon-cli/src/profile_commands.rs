//! Import profiles on the command line: `reckon convert`, `reckon profiles`, and the conversion
//! of inputs given with a profile (`reconcile --usage-profile`, `import ... --profile`) into
//! canonical temporary files that the canonical readers then read, with every error and
//! rejected row of those files named by its source file and line.

use crate::args::{ConvertArgs, ProfileOverrideArgs, ProfilesArgs};
use anyhow::{bail, Context};
use reckon_import::{BadRowPolicy, ImportError, ImportErrorDetail, ImportErrorKind, Rejection};
use reckon_profiles::{Overrides, Profile, Target};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `reckon profiles`: the built-in profiles, or one's TOML.
pub fn profiles_command(arguments: &ProfilesArgs) -> anyhow::Result<ExitCode> {
    if let Some(name) = &arguments.show {
        let Some(text) = reckon_profiles::builtin::text(name) else {
            bail!(
                "{name:?} is not a built-in profile ({})",
                reckon_profiles::builtin::names().collect::<Vec<_>>().join(", ")
            );
        };
        crate::print_report(text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for profile in reckon_profiles::builtin::all()? {
        text.push_str(&format!("{:<20} {:<8} {}\n", profile.name(), profile.target().as_str(), profile.description()));
    }
    crate::print_report(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `reckon convert`: a source file through a profile into a canonical file, or `--detect`.
pub fn convert_command(arguments: &ConvertArgs) -> anyhow::Result<ExitCode> {
    if arguments.detect {
        return detect_command(&arguments.input);
    }
    let (Some(profile), Some(out)) = (&arguments.profile, &arguments.out) else {
        bail!("--profile and --out are required (or --detect to name the likely profile)");
    };
    let profile = Profile::resolve(profile)?;
    let policy = if arguments.skip_bad_rows { BadRowPolicy::Quarantine } else { BadRowPolicy::Fail };
    let options = reckon_profiles::ConvertOptions {
        policy,
        overrides: overrides_for(&arguments.overrides, &[profile.target()])?.remove(0),
        ..reckon_profiles::ConvertOptions::default()
    };
    let mut conversion = None;
    crate::pipeline::write_atomically(out, |file| {
        conversion = Some(reckon_profiles::convert(&profile, &arguments.input, file, &options)?);
        Ok(())
    })?;
    let conversion = conversion.expect("written");
    if let Some(path) = &arguments.rejected {
        crate::pipeline::write_atomically(path, |file| {
            reckon_export::rejected::write_rejected(file, &conversion.rejected).map_err(Into::into)
        })?;
    }
    let mut stderr = std::io::stderr().lock();
    for rejection in conversion.rejected.iter().filter(|_| arguments.rejected.is_none()) {
        let _ =
            writeln!(stderr, "rejected: {}:{}: {}", rejection.path.display(), rejection.line_number, rejection.reason);
    }
    let _ = writeln!(
        stderr,
        "{}: {} rows written to {} by profile {}; {} left out by its filters, {} lines of other shapes skipped, {} \
         rejected",
        arguments.input.display(),
        conversion.rows_written,
        out.display(),
        profile.name(),
        conversion.rows_filtered,
        conversion.lines_unmatched,
        conversion.rejected.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn detect_command(input: &Path) -> anyhow::Result<ExitCode> {
    let profiles = reckon_profiles::builtin::all()?;
    let detections = reckon_profiles::detect(input, &profiles);
    if detections.is_empty() {
        bail!(
            "{}: no built-in profile reads its first rows; write a profile for it (`reckon profiles --show NAME` \
             prints one to start from)",
            input.display()
        );
    }
    let mut text = String::new();
    for detection in &detections {
        text.push_str(&format!("{}: {}\n", detection.profile, detection.description));
        for reason in &detection.reasons {
            text.push_str(&format!("  {reason}\n"));
        }
    }
    crate::print_report(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The overrides for each target in `targets`: a `--set`/`--map` applies to the targets that
/// have its column; one that no target has is an error.
pub(crate) fn overrides_for(arguments: &ProfileOverrideArgs, targets: &[Target]) -> anyhow::Result<Vec<Overrides>> {
    let pairs = |values: &[String], flag: &str| -> anyhow::Result<Vec<(String, String)>> {
        values
            .iter()
            .map(|pair| {
                let (field, value) =
                    pair.split_once('=').with_context(|| format!("--{flag} {pair:?}: expected FIELD=VALUE"))?;
                let field = field.trim().to_owned();
                if !targets.iter().any(|target| target.has_column(&field)) {
                    let files: Vec<&str> = targets.iter().map(|target| target.file_name()).collect();
                    bail!("--{flag} {pair:?}: {field:?} is not a column of {}", files.join(" or "));
                }
                Ok((field, value.trim().to_owned()))
            })
            .collect()
    };
    let sets = pairs(&arguments.set, "set")?;
    let maps = pairs(&arguments.map, "map")?;
    Ok(targets
        .iter()
        .map(|target| Overrides {
            sets: sets.iter().filter(|(field, _)| target.has_column(field)).cloned().collect(),
            maps: maps.iter().filter(|(field, _)| target.has_column(field)).cloned().collect(),
            time_zone: arguments.time_zone.clone(),
        })
        .collect())
}

/// Inputs converted into canonical temporary files (removed when this is dropped), and how
/// to name their rows by source file and line.
pub(crate) struct ConvertedInputs {
    _dir: Option<tempfile::TempDir>,
    inputs: Vec<ConvertedInput>,
}

struct ConvertedInput {
    canonical: PathBuf,
    source: PathBuf,
    profile: String,
    /// The source line of each canonical row (row `i` is canonical line `i + 2`).
    source_lines: Vec<u64>,
    /// Source rows the conversion set aside (under `--skip-bad-rows`).
    rejected: Vec<Rejection>,
}

/// One input to convert: the file, its profile (name or path), and the overrides for it.
pub(crate) struct ProfiledInput<'a> {
    pub file: &'a Path,
    pub profile: &'a str,
    pub overrides: Overrides,
    /// The canonical target the command reads this input as.
    pub expected: Target,
}

impl ConvertedInputs {
    /// No input converted.
    pub(crate) fn none() -> ConvertedInputs {
        ConvertedInputs { _dir: None, inputs: Vec::new() }
    }

    /// Converts each input into a canonical file in a temporary folder inside `folder`.
    ///
    /// # Errors
    /// A profile that does not resolve or is of the wrong target, or a conversion error
    /// (positioned in the source).
    pub(crate) fn convert(
        inputs: Vec<ProfiledInput<'_>>,
        folder: &Path,
        policy: BadRowPolicy,
    ) -> anyhow::Result<ConvertedInputs> {
        if inputs.is_empty() {
            return Ok(ConvertedInputs::none());
        }
        fs_err::create_dir_all(folder)?;
        let dir = tempfile::Builder::new()
            .prefix(".reckon-converted-")
            .tempdir_in(folder)
            .with_context(|| format!("creating a temporary folder in {}", folder.display()))?;
        let mut converted = Vec::new();
        for (index, input) in inputs.into_iter().enumerate() {
            let profile = Profile::resolve(input.profile)?;
            if profile.target() != input.expected {
                bail!(
                    "profile {} produces {}, but {} is read as {}",
                    profile.name(),
                    profile.target().file_name(),
                    input.file.display(),
                    input.expected.file_name()
                );
            }
            let canonical = dir.path().join(format!("{index}-{}", input.expected.file_name()));
            let options = reckon_profiles::ConvertOptions {
                policy,
                overrides: input.overrides,
                track_source_lines: true,
                ..reckon_profiles::ConvertOptions::default()
            };
            let file = std::io::BufWriter::new(fs_err::File::create(&canonical)?);
            let conversion = reckon_profiles::convert(&profile, input.file, file, &options)?;
            converted.push(ConvertedInput {
                canonical,
                source: input.file.to_owned(),
                profile: profile.name().to_owned(),
                source_lines: conversion.source_lines,
                rejected: conversion.rejected,
            });
        }
        Ok(ConvertedInputs { _dir: Some(dir), inputs: converted })
    }

    /// The canonical file of `source` when it was converted, else `source` itself.
    pub(crate) fn path_for(&self, source: &Path) -> PathBuf {
        self.inputs
            .iter()
            .find(|input| input.source == source)
            .map_or_else(|| source.to_owned(), |input| input.canonical.clone())
    }

    /// Names the rows of canonical files by their source, and adds the rows the conversions
    /// set aside (first, in input order).
    pub(crate) fn remap_rejected(&self, rejected: &mut Vec<Rejection>) {
        for rejection in rejected.iter_mut() {
            if let Some(input) = self.inputs.iter().find(|input| input.canonical == rejection.path) {
                rejection.path = input.source.clone();
                rejection.line_number = input.source_line(rejection.line_number);
                if let Some(column) = &rejection.column {
                    rejection.reason = format!(
                        "canonical column {column:?} (written by profile {}): {}",
                        input.profile, rejection.reason
                    );
                }
            }
        }
        let conversion_rejected: Vec<Rejection> =
            self.inputs.iter().flat_map(|input| input.rejected.iter().cloned()).collect();
        rejected.splice(0..0, conversion_rejected);
    }

    /// An error about a canonical file, retold about its source file and line.
    pub(crate) fn remap_error(&self, error: anyhow::Error) -> anyhow::Error {
        if self.inputs.is_empty() {
            return error;
        }
        // A split run's error wraps the import error transparently (its chain skips it).
        let import_error = error.chain().find_map(|cause| {
            cause.downcast_ref::<ImportError>().or_else(|| match cause.downcast_ref::<reckon_partition::Error>() {
                Some(reckon_partition::Error::Import(inner)) => Some(inner),
                _ => None,
            })
        });
        let Some(import_error) = import_error else {
            return error;
        };
        let Some(input) = self.inputs.iter().find(|input| input.canonical == import_error.path) else {
            return error;
        };
        let what = match &import_error.kind {
            ImportErrorKind::Repeated { what, first_line, .. } => {
                format!("{what} repeats line {} of {}", input.source_line(*first_line), input.source.display())
            }
            kind => kind.to_string(),
        };
        let message = match &import_error.column {
            Some((_, name)) => format!("canonical column {name:?} (written by profile {}): {what}", input.profile),
            None => format!("{what} (in the rows profile {} wrote)", input.profile),
        };
        let remapped: ImportError = ImportErrorDetail {
            path: input.source.clone(),
            line_number: import_error.line_number.map(|line| input.source_line(line)),
            column: None,
            kind: ImportErrorKind::Rule(message),
        }
        .into();
        anyhow::Error::new(remapped)
    }
}

impl ConvertedInput {
    /// The source line of a canonical line (1 is the header; 0 stays 0: no line).
    fn source_line(&self, canonical_line: u64) -> u64 {
        canonical_line
            .checked_sub(2)
            .and_then(|index| self.source_lines.get(usize::try_from(index).ok()?))
            .copied()
            .unwrap_or(0)
    }
}
