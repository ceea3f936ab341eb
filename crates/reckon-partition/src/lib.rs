//! The batch reconciliation of a month larger than memory, with exactly the results of the
//! in-memory one (`reckon_core::reconcile`).
//!
//! A line can only take records of its carrier that share its reference or its destination
//! (service and digits). So the run splits into parts that share no candidate:
//!
//! 1. **Spill.** Usage and invoices are read once, on two threads, and each record and line is
//!    written, in a compact binary form ([`spill`]), to the partition its destination key hashes
//!    to. Beside them go the keys that decide what must stay together or is repeated: each
//!    reference with its destination key, each `record_id`, each line key.
//! 2. **Join.** A reference whose records and lines have more than one destination joins those
//!    destinations: all of them go to one extra partition, the crossing one, so that a line still
//!    finds a record of another destination by reference. Repeated ids and line keys are found
//!    partition by partition (an error, or rejected rows and their records left out).
//! 3. **Reconcile.** Each partition is read back, rated and reconciled on its own
//!    ([`Reconciler::for_part`]), on every core, with records and lines numbered as in the whole
//!    run, so that FORMATS.md's order (lines in file order, ties by usage order) holds inside
//!    each part; the parts' results merge into the whole run's ([`Reconciliation::merged`]).
//!
//! Memory holds one partition per worker, not the month; the partition count comes from the
//! input size. Tiered decks price a record from the whole month's volume, so a run whose deck
//! has tiers is not split (the caller reconciles it in memory).

pub mod spill;

use reckon_core::network::NetworkMap;
use reckon_core::rating::{rate_all_into, Party, Rating};
use reckon_core::reconcile::{Reconciler, RunFacts};
use reckon_core::{FxTable, InvoiceLine, RateDeck, ReconcileConfig, Reconciliation, Service, UsageRecord};
use reckon_import::invoice::InvoiceReader;
use reckon_import::usage::UsageReader;
use reckon_import::{BadRowPolicy, ImportError, Loaded, Position, Progress, Rejection};
use rustc_hash::{FxHashMap, FxHashSet, FxHasher};
use spill::{Decoder, NameIds, SpillReader, SpillWriter};
use std::hash::{Hash, Hasher};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// Why a split run failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("spill files in {dir}: {source}")]
    Spill { dir: PathBuf, source: io::Error },
}

/// The inputs of a run.
pub struct Inputs<'a> {
    /// The usage file ([`reconcile`]), or the name of the usage source in messages
    /// ([`reconcile_sources`]).
    pub usage: &'a Path,
    /// The invoice files ([`reconcile`]; unused by [`reconcile_sources`]).
    pub invoices: &'a [PathBuf],
    pub deck: &'a RateDeck,
    pub networks: &'a NetworkMap,
    pub fx: &'a FxTable,
    pub config: &'a ReconcileConfig,
    pub policy: BadRowPolicy,
}

/// How a run is split.
#[derive(Clone, Debug)]
pub struct Layout {
    /// Partitions by destination key (the crossing partition comes on top).
    pub partitions: usize,
    /// Threads reconciling partitions at once.
    pub workers: usize,
    /// Where the spill files go (a fresh folder inside it, removed at the end).
    pub spill_dir: PathBuf,
}

/// Input bytes (CSV) per partition: a partition's records, lines, ratings and indexes then take
/// about 80 MB in memory (measured: ~800 bytes per record and its line), so workers on every
/// core stay well inside the 1 GiB a 10M-record month may use.
const INPUT_BYTES_PER_PARTITION: u64 = 16 << 20;

/// Most partitions: each is two files open while spilling (with the key partitions, fewer than
/// the 1,024 files a process may usually open). Past 4 GB of input, partitions grow instead.
const PARTITIONS_MAX: usize = 256;

impl Layout {
    /// A layout for inputs of `input_bytes`: enough partitions that each fits comfortably in
    /// memory, one worker per core.
    pub fn for_input_bytes(input_bytes: u64, spill_dir: PathBuf) -> Layout {
        let partitions = input_bytes.div_ceil(INPUT_BYTES_PER_PARTITION).clamp(1, PARTITIONS_MAX as u64) as usize;
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        Layout { partitions, workers, spill_dir }
    }
}

/// What a split run found and read.
#[derive(Debug)]
pub struct Outcome {
    pub reconciliation: Reconciliation,
    /// Usage records reconciled (repeats left out).
    pub usage_records: u64,
    /// Invoice lines reconciled (repeats left out).
    pub invoice_lines: u64,
    /// The lines that are not usage (contract charges), in file order: checked on the whole
    /// run's result (`Reconciliation::add_charges`), never split.
    pub charge_lines: Vec<reckon_core::charges::ChargeLine>,
    /// Rows set aside: the usage file's, then the invoices' (each in file order).
    pub rejected: Vec<Rejection>,
    /// Bytes the spill files took on disk.
    pub spilled_bytes: u64,
    /// Where the time went.
    pub timings: Timings,
}

/// Wall time of each step of a split run.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Reading and spilling the inputs.
    pub spill: std::time::Duration,
    /// Finding repeats and references across destinations.
    pub join: std::time::Duration,
    /// Reconciling the partitions and merging their results (the crossing one included).
    pub reconcile: std::time::Duration,
    /// Of which the crossing partition, reconciled alone after the others.
    pub crossing: std::time::Duration,
    /// Records and lines in the crossing partition.
    pub crossing_records: usize,
    pub crossing_lines: usize,
}

/// Where a split run reads its usage records, batch by batch: a usage file
/// ([`UsageReader`]), or any other source (the ledger's streaming query).
pub trait UsageSource {
    /// Appends up to `max_rows` records (with their positions) to `loaded`, as
    /// [`UsageReader::read_batch`] does. Returns `false` once the source is read to its end.
    ///
    /// # Errors
    /// An error of the source, or under [`BadRowPolicy::Fail`] its first bad row.
    fn read_batch(
        &mut self,
        loaded: &mut Loaded<UsageRecord>,
        max_rows: usize,
        policy: BadRowPolicy,
        progress: &mut dyn Progress,
    ) -> Result<bool, ImportError>;

    /// The run stopped before the source's end (an error): a source fed from elsewhere tells
    /// its feeder to stop, which also ends the line source it feeds next.
    fn stop(&mut self) {}
}

impl UsageSource for UsageReader {
    fn read_batch(
        &mut self,
        loaded: &mut Loaded<UsageRecord>,
        max_rows: usize,
        policy: BadRowPolicy,
        progress: &mut dyn Progress,
    ) -> Result<bool, ImportError> {
        UsageReader::read_batch(self, loaded, max_rows, policy, progress)
    }
}

/// Where a split run reads its invoice lines, batch by batch: invoice files
/// ([`InvoiceReader`], without its repeat check: the run finds repeats on disk), or any other
/// source. It is read on a thread of its own.
pub trait LineSource: Send {
    /// The next lines, at most `max_lines`; none once the source is read to its end.
    ///
    /// # Errors
    /// An error of the source, or under [`BadRowPolicy::Fail`] its first bad row.
    fn next_batch(&mut self, progress: &mut dyn Progress, max_lines: usize) -> Result<Vec<InvoiceLine>, ImportError>;

    /// The positions of the last batch's lines.
    fn positions(&self) -> &[Position];

    /// Whether the last batch's lines only take the records they bill, unjudged: lines of
    /// other periods' invoices in a ledger run (see
    /// `reckon_core::reconcile::Reconciler::add_line_of_other_period`). Such lines come after
    /// every line of the run's own.
    fn takes_only(&self) -> bool {
        false
    }

    /// The rows set aside so far under [`BadRowPolicy::Quarantine`], taken out.
    fn take_rejected(&mut self) -> Vec<Rejection>;

    /// Takes back a batch the caller is done with (dropped here by default).
    fn recycle(&mut self, batch: Vec<InvoiceLine>) {
        drop(batch);
    }

    /// The files a [`Position`]'s `file_index` indexes (none for a source of no files).
    fn paths(&self) -> &[PathBuf];

    /// The lines that are not usage (contract charges) read, taken out: they are kept aside,
    /// not spilled (none by default).
    fn take_charge_lines(&mut self) -> Vec<reckon_core::charges::ChargeLine> {
        Vec::new()
    }
}

impl LineSource for InvoiceReader {
    fn next_batch(&mut self, progress: &mut dyn Progress, max_lines: usize) -> Result<Vec<InvoiceLine>, ImportError> {
        InvoiceReader::next_batch(self, progress, max_lines)
    }

    fn positions(&self) -> &[Position] {
        &self.positions
    }

    fn take_rejected(&mut self) -> Vec<Rejection> {
        std::mem::take(&mut self.rejected)
    }

    fn paths(&self) -> &[PathBuf] {
        InvoiceReader::paths(self)
    }

    fn take_charge_lines(&mut self) -> Vec<reckon_core::charges::ChargeLine> {
        std::mem::take(&mut self.charge_lines)
    }
}

/// Batches of lines read ahead of their spilling, at most.
const LINE_BATCHES_AHEAD: usize = 2;

/// One batch of lines read ahead, with what the source said of it.
struct LinesRead {
    batch: Result<Vec<InvoiceLine>, ImportError>,
    positions: Vec<Position>,
    takes_only: bool,
    /// The source's rejected rows, with its last batch (the empty one, or an error).
    rejected: Vec<Rejection>,
}

/// Reads `source` batch by batch into `sender` until its end, an error, or the receiver
/// hangs up.
fn read_lines_ahead(
    source: &mut dyn LineSource,
    progress: &mut (dyn Progress + Send),
    sender: &std::sync::mpsc::SyncSender<LinesRead>,
    spent: &std::sync::mpsc::Receiver<Vec<InvoiceLine>>,
) {
    loop {
        // The lines hold shared names counted by this thread: they are dropped here too, so
        // the counts do not bounce between the two threads' cores.
        while let Ok(batch) = spent.try_recv() {
            source.recycle(batch);
        }
        let batch = source.next_batch(progress, INVOICE_BATCH_LINES);
        let last = !matches!(&batch, Ok(lines) if !lines.is_empty());
        let read = LinesRead {
            batch,
            positions: source.positions().to_vec(),
            takes_only: source.takes_only(),
            rejected: if last { source.take_rejected() } else { Vec::new() },
        };
        if sender.send(read).is_err() || last {
            return;
        }
    }
}

/// A [`LineSource`] whose batches another thread reads ([`read_lines_ahead`]).
struct LinesAhead {
    paths: Vec<PathBuf>,
    receiver: std::sync::mpsc::Receiver<LinesRead>,
    /// Batches spilled, back to the reading thread.
    spent: std::sync::mpsc::Sender<Vec<InvoiceLine>>,
    positions: Vec<Position>,
    takes_only: bool,
    rejected: Vec<Rejection>,
}

impl LinesAhead {
    fn new(
        paths: Vec<PathBuf>,
        receiver: std::sync::mpsc::Receiver<LinesRead>,
        spent: std::sync::mpsc::Sender<Vec<InvoiceLine>>,
    ) -> LinesAhead {
        LinesAhead { paths, receiver, spent, positions: Vec::new(), takes_only: false, rejected: Vec::new() }
    }
}

impl LineSource for LinesAhead {
    fn next_batch(&mut self, _progress: &mut dyn Progress, _max_lines: usize) -> Result<Vec<InvoiceLine>, ImportError> {
        // The reader stops after its last batch: nothing more to receive is the end.
        let Ok(read) = self.receiver.recv() else { return Ok(Vec::new()) };
        self.positions = read.positions;
        self.takes_only = read.takes_only;
        self.rejected.extend(read.rejected);
        read.batch
    }

    fn positions(&self) -> &[Position] {
        &self.positions
    }

    fn takes_only(&self) -> bool {
        self.takes_only
    }

    fn take_rejected(&mut self) -> Vec<Rejection> {
        std::mem::take(&mut self.rejected)
    }

    fn recycle(&mut self, batch: Vec<InvoiceLine>) {
        // Once the reader has stopped, the batch is dropped here.
        let _ = self.spent.send(batch);
    }

    fn paths(&self) -> &[PathBuf] {
        &self.paths
    }
}

/// Reconciles a run split into partitions, reading the files of `inputs`. `usage_progress` and
/// `invoice_progress` hear the two reading threads.
///
/// # Errors
/// The first input error (the usage file's before the invoices', as when the run is read
/// whole), or an I/O error on the spill files.
///
/// # Panics
/// When the deck has tiers (see the module's documentation).
pub fn reconcile(
    inputs: &Inputs<'_>,
    layout: &Layout,
    usage_progress: &mut (dyn Progress + Send),
    invoice_progress: &mut (dyn Progress + Send),
) -> Result<Outcome, Error> {
    let mut usage = UsageReader::open(inputs.usage)?;
    let mut lines = InvoiceReader::without_repeat_check(inputs.invoices, inputs.policy);
    reconcile_sources(inputs, &mut usage, &mut lines, layout, usage_progress, invoice_progress)
}

/// Reconciles a run split into partitions, reading its usage and lines from `usage` and
/// `lines` (`inputs.usage` names the usage in messages; `inputs.invoices` is not read).
/// `usage_progress` and `invoice_progress` hear the two reading threads.
///
/// # Errors
/// The first input error (the usage's before the lines', as when the run is read whole), or
/// an I/O error on the spill files.
///
/// # Panics
/// When the deck has tiers (see the module's documentation).
pub fn reconcile_sources(
    inputs: &Inputs<'_>,
    usage_source: &mut dyn UsageSource,
    line_source: &mut dyn LineSource,
    layout: &Layout,
    usage_progress: &mut (dyn Progress + Send),
    invoice_progress: &mut (dyn Progress + Send),
) -> Result<Outcome, Error> {
    assert!(!inputs.deck.has_tiers(), "a tiered deck prices a record from the whole month: reconcile it whole");
    fs_err::create_dir_all(&layout.spill_dir).map_err(|source| spill_error(&layout.spill_dir, source))?;
    // A run killed before its end (kill -9) leaves its folder behind: gone once its owner is.
    remove_stale_spills(&layout.spill_dir);
    let spill_dir = tempfile::Builder::new()
        .prefix(SPILL_PREFIX)
        .tempdir_in(&layout.spill_dir)
        .map_err(|source| spill_error(&layout.spill_dir, source))?;
    claim(spill_dir.path()).map_err(|source| spill_error(spill_dir.path(), source))?;
    let partitions = layout.partitions.max(1);
    let files =
        Files { dir: spill_dir.path().to_owned(), partitions, key_partitions: partitions.min(KEY_PARTITIONS_MAX) };
    let spill_error = |source| spill_error(&files.dir, source);

    let started = std::time::Instant::now();
    let mut timings = Timings::default();
    // 1. Spill: the usage on this thread, the invoices on another (which borrows the line
    // source until the spill is done; its charge lines are taken after).
    let lines_read: &mut dyn LineSource = &mut *line_source;
    let (usage, invoices) = std::thread::scope(|scope| {
        let invoice_thread = scope.spawn(|| {
            // The lines are parsed on a thread of their own, ahead of their spilling: the
            // invoices are the larger half of the reading, and three threads share two cores
            // more evenly than two unequal ones.
            std::thread::scope(|lines_scope| {
                let (sender, receiver) = std::sync::mpsc::sync_channel(LINE_BATCHES_AHEAD);
                let (spent_sender, spent) = std::sync::mpsc::channel();
                let mut ahead = LinesAhead::new(lines_read.paths().to_vec(), receiver, spent_sender);
                lines_scope.spawn(move || read_lines_ahead(lines_read, invoice_progress, &sender, &spent));
                spill_invoices(inputs, &mut ahead, &files, &mut reckon_import::NoProgress)
            })
        });
        let usage = spill_usage(inputs, usage_source, &files, usage_progress);
        if usage.is_err() {
            // Its feeder may wait to hand it more, and feed the lines only after it.
            usage_source.stop();
        }
        (usage, invoice_thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    timings.spill = started.elapsed();
    // The usage file's errors come first, as when the run is read whole.
    let mut usage = usage?;
    // The joins read different spills: one per core.
    let (record_repeats, crossing) = std::thread::scope(|scope| {
        let crossing = scope.spawn(|| crossing_destinations(&files));
        (find_record_repeats(&files), crossing.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)))
    });
    let record_repeats = record_repeats.map_err(spill_error)?;
    let mut rejected = std::mem::take(&mut usage.rejected);
    if let Some(first) = record_repeats.first() {
        let error = reckon_import::usage::repeated_record_id(inputs.usage, &first.id, first.line, first.first_line);
        if inputs.policy == BadRowPolicy::Fail {
            return Err(error.into());
        }
        rejected.extend(record_repeats.iter().map(|repeat| {
            reckon_import::usage::repeated_record_id(inputs.usage, &repeat.id, repeat.line, repeat.first_line)
                .to_rejection()
        }));
    }
    let mut invoices = invoices?;
    rejected.append(&mut invoices.rejected);
    let charge_lines = line_source.take_charge_lines();

    // 2. Join destinations that share a reference; number records and lines without repeats.
    let crossing = crossing.map_err(spill_error)?;
    let removed_records: Vec<u64> = record_repeats.iter().map(|repeat| repeat.number).collect();
    let mut facts = invoices.facts;
    if !invoices.removed_lines.is_empty() {
        // A repeated line is no line of the run: the facts are gathered again without it.
        facts = gather_facts(&files, &invoices.names, &invoices.removed_lines, invoices.own_lines, inputs.config)
            .map_err(spill_error)?;
    }
    // The index, once repeats are left out, of the first line that only takes records.
    let own_lines_removed = invoices.removed_lines.partition_point(|number| *number < invoices.own_lines);
    let own_lines = (invoices.own_lines - own_lines_removed as u64) as usize;
    let part = Part {
        inputs,
        files: &files,
        crossing: &crossing,
        removed_records: &removed_records,
        removed_lines: &invoices.removed_lines,
        own_lines,
        facts: &facts,
        usage_names: &usage.names,
        line_names: &invoices.names,
    };

    timings.join = started.elapsed() - timings.spill;
    // 3. Reconcile every partition, then the crossing one.
    let parts = reconcile_partitions(&part, layout.workers.max(1))?;
    let crossing_started = std::time::Instant::now();
    let crossing_inputs = part.read_crossing().map_err(spill_error)?;
    (timings.crossing_records, timings.crossing_lines) = (crossing_inputs.records.len(), crossing_inputs.lines.len());
    let crossing_part = part.reconcile(&crossing_inputs, &mut Vec::new());
    drop(crossing_inputs);
    timings.crossing = crossing_started.elapsed();
    let spilled_bytes = directory_bytes(&files.dir);
    let reconciliation = Reconciliation::merged(parts.into_iter().chain([crossing_part]));
    timings.reconcile = started.elapsed() - timings.spill - timings.join;
    Ok(Outcome {
        timings,
        reconciliation,
        usage_records: usage.records - removed_records.len() as u64,
        invoice_lines: own_lines as u64,
        charge_lines,
        rejected,
        spilled_bytes,
    })
}

fn spill_error(dir: &Path, source: io::Error) -> Error {
    Error::Spill { dir: dir.to_owned(), source }
}

/// The spill files of a run.
struct Files {
    dir: PathBuf,
    /// Partitions of records and lines.
    partitions: usize,
    /// Partitions of the keys (references, ids, line keys): fewer, as a key takes a few bytes
    /// where a record takes a hundred, and every partition is a file open while spilling.
    key_partitions: usize,
}

/// Most key partitions: at 100M records, about 1.5M keys (~80 MB) per partition.
const KEY_PARTITIONS_MAX: usize = 64;

/// The kinds of spill file, each in `partitions` parts.
#[derive(Clone, Copy)]
enum Spill {
    /// Destination key, record number, record.
    Usage,
    /// Destination key, line number, line.
    Lines,
    /// Reference hash, destination key (of records).
    UsageReferences,
    /// Reference hash, destination key (of lines).
    LineReferences,
    /// `record_id`, record number, line in the file.
    RecordIds,
    /// Line key hash (two halves), line number, file index, line in the file, carrier, invoice,
    /// line id.
    LineKeys,
    /// Records moved to the crossing partition by one partition's worker.
    CrossingUsage,
    /// Lines moved to the crossing partition by one partition's worker.
    CrossingLines,
}

impl Files {
    fn path(&self, spill: Spill, partition: usize) -> PathBuf {
        let name = match spill {
            Spill::Usage => "usage",
            Spill::Lines => "lines",
            Spill::UsageReferences => "usage-refs",
            Spill::LineReferences => "line-refs",
            Spill::RecordIds => "record-ids",
            Spill::LineKeys => "line-keys",
            Spill::CrossingUsage => "crossing-usage",
            Spill::CrossingLines => "crossing-lines",
        };
        self.dir.join(format!("{name}-{partition:05}.bin"))
    }

    fn count(&self, spill: Spill) -> usize {
        match spill {
            Spill::UsageReferences | Spill::LineReferences | Spill::RecordIds | Spill::LineKeys => self.key_partitions,
            Spill::Usage | Spill::Lines | Spill::CrossingUsage | Spill::CrossingLines => self.partitions,
        }
    }

    fn create(&self, spill: Spill) -> io::Result<Vec<SpillWriter>> {
        (0..self.count(spill)).map(|partition| SpillWriter::create(self.path(spill, partition))).collect()
    }

    /// The partition of a destination key (hashes are mixed first: FxHash's low bits are weak).
    fn partition_of(&self, hash: u64) -> usize {
        ((u128::from(mix(hash)) * self.partitions as u128) >> 64) as usize
    }

    /// The key partition of a key's hash.
    fn key_partition_of(&self, hash: u64) -> usize {
        ((u128::from(mix(hash)) * self.key_partitions as u128) >> 64) as usize
    }
}

fn finish_all(writers: Vec<SpillWriter>) -> io::Result<()> {
    writers.into_iter().try_for_each(|writer| writer.finish().map(drop))
}

/// The splitmix64 finalizer: spreads every input bit over the output.
fn mix(mut hash: u64) -> u64 {
    hash = (hash ^ (hash >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    hash = (hash ^ (hash >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    hash ^ (hash >> 31)
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = FxHasher::default();
    value.hash(&mut hasher);
    hasher.finish()
}

/// The key of the candidates by time: carrier, service, destination digits.
fn destination_key(carrier: &str, service: Service, digits: &str) -> u64 {
    hash_of((carrier, service, digits))
}

/// The key of the candidates by reference: carrier and reference.
fn reference_key(carrier: &str, reference: &str) -> u64 {
    hash_of((carrier, reference))
}

/// Records read per batch from the usage file.
const READ_BATCH_ROWS: usize = 8_192;

struct SpilledUsage {
    records: u64,
    rejected: Vec<Rejection>,
    /// The names the usage spill's entries refer to.
    names: Vec<Arc<str>>,
}

fn spill_usage(
    inputs: &Inputs<'_>,
    reader: &mut dyn UsageSource,
    files: &Files,
    progress: &mut dyn Progress,
) -> Result<SpilledUsage, Error> {
    let spill_error = |source| spill_error(&files.dir, source);
    let mut usage = files.create(Spill::Usage).map_err(spill_error)?;
    let mut references = files.create(Spill::UsageReferences).map_err(spill_error)?;
    let mut ids = files.create(Spill::RecordIds).map_err(spill_error)?;
    let mut loaded = Loaded::default();
    let mut names = NameIds::default();
    let mut number = 0u64;
    loop {
        let more = reader.read_batch(&mut loaded, READ_BATCH_ROWS, inputs.policy, progress)?;
        for (record, position) in loaded.items.drain(..).zip(loaded.positions.drain(..)) {
            spill_record(files, &record, number, position, &mut names, [&mut usage, &mut references, &mut ids])
                .map_err(spill_error)?;
            number += 1;
        }
        if !more {
            break;
        }
    }
    for writers in [usage, references, ids] {
        finish_all(writers).map_err(spill_error)?;
    }
    Ok(SpilledUsage { records: number, rejected: loaded.rejected, names: names.into_table() })
}

fn spill_record(
    files: &Files,
    record: &UsageRecord,
    number: u64,
    position: Position,
    names: &mut NameIds,
    [usage, references, ids]: [&mut Vec<SpillWriter>; 3],
) -> io::Result<()> {
    let key = destination_key(&record.carrier, record.service, record.destination.digits());
    usage[files.partition_of(key)].write(|entry| {
        entry.hash(key);
        entry.u64(number);
        entry.record(record, names);
    })?;
    if let Some(reference) = &record.carrier_ref {
        let reference = reference_key(&record.carrier, reference);
        references[files.key_partition_of(reference)].write(|entry| {
            entry.hash(reference);
            entry.hash(key);
        })?;
    }
    let id_hash = hash_of(record.record_id.as_str());
    ids[files.key_partition_of(id_hash)].write(|entry| {
        entry.hash(id_hash);
        entry.u64(number);
        entry.u64(position.line_number);
        entry.str(&record.record_id);
    })
}

struct SpilledInvoices {
    /// Lines of the run's own read (the lines from this number on only take records), repeats
    /// included.
    own_lines: u64,
    rejected: Vec<Rejection>,
    /// Numbers of the lines left out because their key repeats (ascending).
    removed_lines: Vec<u64>,
    facts: RunFacts,
    /// The names the line spill's entries refer to.
    names: Vec<Arc<str>>,
}

/// Lines handed from the reader per batch.
const INVOICE_BATCH_LINES: usize = 8_192;

fn spill_invoices(
    inputs: &Inputs<'_>,
    reader: &mut dyn LineSource,
    files: &Files,
    progress: &mut dyn Progress,
) -> Result<SpilledInvoices, Error> {
    let spill_error = |source| spill_error(&files.dir, source);
    let mut lines = files.create(Spill::Lines).map_err(spill_error)?;
    let mut references = files.create(Spill::LineReferences).map_err(spill_error)?;
    let mut keys = files.create(Spill::LineKeys).map_err(spill_error)?;
    let mut facts = RunFacts::default();
    let mut names = NameIds::default();
    let mut number = 0u64;
    let mut own_lines = None;
    let read_error = loop {
        let batch = match reader.next_batch(progress, INVOICE_BATCH_LINES) {
            Ok(batch) => batch,
            Err(error) => break Some(error),
        };
        if batch.is_empty() {
            break None;
        }
        if reader.takes_only() {
            own_lines.get_or_insert(number);
        } else {
            assert!(own_lines.is_none(), "the lines that only take records come after the run's own");
        }
        for (line, position) in batch.iter().zip(reader.positions()) {
            if own_lines.is_none() {
                facts.add_line(line, inputs.config);
            }
            spill_line(files, line, number, *position, &mut names, [&mut lines, &mut references, &mut keys])
                .map_err(spill_error)?;
            number += 1;
        }
        reader.recycle(batch);
    };
    for writers in [lines, references, keys] {
        finish_all(writers).map_err(spill_error)?;
    }
    let names = names.into_table();
    let repeats = find_line_repeats(files, &names).map_err(spill_error)?;
    let mut rejected = reader.take_rejected();
    let paths = reader.paths();
    let repeat_error = |repeat: &LineRepeat| {
        reckon_import::invoice::repeated_line(
            paths,
            [&repeat.carrier, &repeat.invoice_id, &repeat.line_id],
            repeat.position,
            repeat.first,
        )
    };
    // A repeat before a row that does not parse is the first error, as when lines are checked
    // as they come.
    if let Some(error) = read_error {
        return Err(repeats.first().map_or(error, repeat_error).into());
    }
    if let Some(first) = repeats.first() {
        if inputs.policy == BadRowPolicy::Fail {
            return Err(repeat_error(first).into());
        }
    }
    rejected.extend(repeats.iter().map(|repeat| repeat_error(repeat).to_rejection()));
    // In file order, as when lines are checked as they come.
    let file_index = |path: &Path| paths.iter().position(|known| known == path);
    rejected.sort_by_key(|rejection| (file_index(&rejection.path), rejection.line_number));
    Ok(SpilledInvoices {
        own_lines: own_lines.unwrap_or(number),
        rejected,
        removed_lines: repeats.iter().map(|repeat| repeat.number).collect(),
        facts,
        names,
    })
}

fn spill_line(
    files: &Files,
    line: &InvoiceLine,
    number: u64,
    position: Position,
    names: &mut NameIds,
    [lines, references, keys]: [&mut Vec<SpillWriter>; 3],
) -> io::Result<()> {
    let key = destination_key(&line.carrier, line.service, line.destination.digits());
    lines[files.partition_of(key)].write(|entry| {
        entry.hash(key);
        entry.u64(number);
        entry.line(line, names);
    })?;
    if let Some(reference) = &line.carrier_ref {
        let reference = reference_key(&line.carrier, reference);
        references[files.key_partition_of(reference)].write(|entry| {
            entry.hash(reference);
            entry.hash(key);
        })?;
    }
    let line_key = reckon_import::invoice::line_key_hash(line);
    keys[files.key_partition_of(line_key as u64)].write(|entry| {
        entry.hash((line_key >> 64) as u64);
        entry.hash(line_key as u64);
        entry.u64(number);
        entry.u64(u64::from(position.file_index));
        entry.u64(position.line_number);
    })
}

/// A record whose `record_id` repeats an earlier record's.
struct RecordRepeat {
    id: String,
    number: u64,
    line: u64,
    first_line: u64,
}

/// The repeated `record_id`s, in usage order of the repeats.
fn find_record_repeats(files: &Files) -> io::Result<Vec<RecordRepeat>> {
    let mut repeats = Vec::new();
    for partition in 0..files.key_partitions {
        let reader = SpillReader::open(&files.path(Spill::RecordIds, partition))?;
        let mut entries = Vec::new();
        for entry in reader.entries() {
            let mut decoder = Decoder::new(entry?, &[]);
            entries.push((decoder.hash()?, decoder.u64()?, decoder.u64()?, decoder.str()?));
        }
        // Only the ids whose hash repeats can repeat: they alone are sorted and compared.
        let shared = hashes_seen_twice(entries.iter().map(|(hash, ..)| *hash), entries.len());
        if shared.is_empty() {
            continue;
        }
        let mut suspects: Vec<_> = entries.iter().filter(|(hash, ..)| shared.contains(hash)).collect();
        // By hash, then usage order: ids that share a hash are compared only among themselves.
        suspects.sort_unstable_by_key(|(hash, number, ..)| (*hash, *number));
        for group in suspects.chunk_by(|a, b| a.0 == b.0) {
            let mut members = group.to_vec();
            members.sort_unstable_by_key(|(_, number, _, id)| (*id, *number));
            for same_id in members.chunk_by(|a, b| a.3 == b.3) {
                let first_line = same_id[0].2;
                repeats.extend(same_id[1..].iter().map(|(_, number, line, id)| RecordRepeat {
                    id: (*id).to_owned(),
                    number: *number,
                    line: *line,
                    first_line,
                }));
            }
        }
    }
    repeats.sort_unstable_by_key(|repeat| repeat.number);
    Ok(repeats)
}

/// The hashes that occur more than once among `count` hashes: one pass over a set sized once,
/// instead of sorting every entry to find the few that repeat.
fn hashes_seen_twice(hashes: impl Iterator<Item = u64>, count: usize) -> FxHashSet<u64> {
    let mut seen = FxHashSet::with_capacity_and_hasher(count, Default::default());
    let mut twice = FxHashSet::default();
    for hash in hashes {
        if !seen.insert(hash) {
            twice.insert(hash);
        }
    }
    twice
}

/// A line whose key repeats an earlier line's.
struct LineRepeat {
    number: u64,
    position: Position,
    first: Position,
    carrier: String,
    invoice_id: String,
    line_id: String,
}

/// The repeated line keys, in run order of the repeats.
fn find_line_repeats(files: &Files, names: &[Arc<str>]) -> io::Result<Vec<LineRepeat>> {
    let mut repeats = Vec::new();
    for partition in 0..files.key_partitions {
        let reader = SpillReader::open(&files.path(Spill::LineKeys, partition))?;
        let mut entries = Vec::new();
        for entry in reader.entries() {
            let mut decoder = Decoder::new(entry?, &[]);
            let key = (decoder.hash()?, decoder.hash()?);
            let number = decoder.u64()?;
            let file_index = u32::try_from(decoder.u64()?).map_err(|_| io::Error::other("file index"))?;
            let position = Position { file_index, line_number: decoder.u64()? };
            entries.push((key, number, position));
        }
        // Only the keys whose high half repeats can repeat: they alone are sorted.
        let shared = hashes_seen_twice(entries.iter().map(|((high, _), ..)| *high), entries.len());
        if shared.is_empty() {
            continue;
        }
        entries.retain(|((high, _), ..)| shared.contains(high));
        entries.sort_unstable_by_key(|(key, number, _)| (*key, *number));
        for group in entries.chunk_by(|a, b| a.0 == b.0) {
            let first = group[0].2;
            repeats.extend(group[1..].iter().map(|(_, number, position)| LineRepeat {
                number: *number,
                position: *position,
                first,
                carrier: String::new(),
                invoice_id: String::new(),
                line_id: String::new(),
            }));
        }
    }
    repeats.sort_unstable_by_key(|repeat| repeat.number);
    if !repeats.is_empty() {
        name_line_repeats(files, names, &mut repeats)?;
    }
    Ok(repeats)
}

/// Fills in the carrier, invoice and line id of each repeat (for its message) from the lines.
fn name_line_repeats(files: &Files, names: &[Arc<str>], repeats: &mut [LineRepeat]) -> io::Result<()> {
    for partition in 0..files.partitions {
        let reader = SpillReader::open(&files.path(Spill::Lines, partition))?;
        for entry in reader.entries() {
            let mut decoder = Decoder::new(entry?, names);
            let (_key, number) = (decoder.hash()?, decoder.u64()?);
            if let Ok(index) = repeats.binary_search_by_key(&number, |repeat| repeat.number) {
                let line = decoder.line()?;
                let repeat = &mut repeats[index];
                repeat.carrier = line.carrier.to_string();
                repeat.invoice_id = line.invoice_id.to_string();
                repeat.line_id = line.line_id.to_string();
            }
        }
    }
    Ok(())
}

/// The destination keys that a reference joins to another: their records and lines all go to
/// the crossing partition.
fn crossing_destinations(files: &Files) -> io::Result<FxHashSet<u64>> {
    let mut crossing = FxHashSet::default();
    // Per reference: the first destination seen, and whether another one has been.
    let mut first_destination: FxHashMap<u64, (u64, bool)> = FxHashMap::default();
    for partition in 0..files.key_partitions {
        first_destination.clear();
        for spill in [Spill::UsageReferences, Spill::LineReferences] {
            let reader = SpillReader::open(&files.path(spill, partition))?;
            for entry in reader.entries() {
                let mut decoder = Decoder::new(entry?, &[]);
                let (reference, destination) = (decoder.hash()?, decoder.hash()?);
                let (first, crosses) = first_destination.entry(reference).or_insert((destination, false));
                if *first != destination {
                    if !*crosses {
                        crossing.insert(*first);
                        *crosses = true;
                    }
                    crossing.insert(destination);
                }
            }
        }
    }
    Ok(crossing)
}

/// The run's facts from the spilled lines, leaving out `removed_lines`.
fn gather_facts(
    files: &Files,
    names: &[Arc<str>],
    removed_lines: &[u64],
    own_lines: u64,
    config: &ReconcileConfig,
) -> io::Result<RunFacts> {
    let mut facts = RunFacts::default();
    for partition in 0..files.partitions {
        let reader = SpillReader::open(&files.path(Spill::Lines, partition))?;
        for entry in reader.entries() {
            let mut decoder = Decoder::new(entry?, names);
            let _key = decoder.hash()?;
            let number = decoder.u64()?;
            if number < own_lines && removed_lines.binary_search(&number).is_err() {
                facts.add_line(&decoder.line()?, config);
            }
        }
    }
    Ok(facts)
}

/// What every partition's reconciliation shares.
struct Part<'a> {
    inputs: &'a Inputs<'a>,
    files: &'a Files,
    crossing: &'a FxHashSet<u64>,
    /// Record and line numbers left out (repeats), ascending.
    removed_records: &'a [u64],
    removed_lines: &'a [u64],
    /// Lines from this index on (repeats left out) only take records.
    own_lines: usize,
    facts: &'a RunFacts,
    /// The names of the usage and line spills.
    usage_names: &'a [Arc<str>],
    line_names: &'a [Arc<str>],
}

/// The records and lines of one partition, numbered as in the whole run.
#[derive(Default)]
struct PartInputs {
    records: Vec<UsageRecord>,
    record_indexes: Vec<usize>,
    lines: Vec<(usize, InvoiceLine)>,
}

impl PartInputs {
    /// Empties it, keeping the room for the next partition.
    fn clear(&mut self) {
        self.records.clear();
        self.record_indexes.clear();
        self.lines.clear();
    }
}

/// What a worker keeps from one partition to the next: its vectors grow to the largest
/// partition once, instead of being grown (and their fresh pages zeroed) for every partition.
struct WorkerBuffers {
    part: PartInputs,
    ratings: Vec<Option<Rating>>,
    spill_bytes: Vec<u8>,
    /// The worker's own copies of the spills' names: every decoded record and line clones its
    /// carrier's name, and a count shared with the other workers would bounce between cores.
    usage_names: Vec<Arc<str>>,
    line_names: Vec<Arc<str>>,
}

impl WorkerBuffers {
    fn for_worker(part: &Part<'_>) -> WorkerBuffers {
        let own_copies = |names: &[Arc<str>]| names.iter().map(|name| Arc::<str>::from(&**name)).collect();
        WorkerBuffers {
            part: PartInputs::default(),
            ratings: Vec::new(),
            spill_bytes: Vec::new(),
            usage_names: own_copies(part.usage_names),
            line_names: own_copies(part.line_names),
        }
    }
}

impl Part<'_> {
    /// Reads a partition into `buffers.part`, moving what belongs to the crossing partition to
    /// its spill files.
    fn read_partition(&self, partition: usize, buffers: &mut WorkerBuffers) -> io::Result<()> {
        let part = &mut buffers.part;
        part.clear();
        let mut moved_usage = SpillWriter::create(self.files.path(Spill::CrossingUsage, partition))?;
        let reader =
            SpillReader::open_in(&self.files.path(Spill::Usage, partition), std::mem::take(&mut buffers.spill_bytes))?;
        let entries = reader.entries().count();
        part.records.reserve(entries);
        part.record_indexes.reserve(entries);
        for entry in reader.entries() {
            let entry = entry?;
            let mut decoder = Decoder::new(entry, &buffers.usage_names);
            let (key, number) = (decoder.hash()?, decoder.u64()?);
            if let Some(index) = index_without(self.removed_records, number) {
                if self.crossing.contains(&key) {
                    moved_usage.write_encoded(entry)?;
                } else {
                    part.records.push(decoder.record()?);
                    part.record_indexes.push(index);
                }
            }
        }
        moved_usage.finish()?;
        let mut moved_lines = SpillWriter::create(self.files.path(Spill::CrossingLines, partition))?;
        let reader = SpillReader::open_in(&self.files.path(Spill::Lines, partition), reader.into_buffer())?;
        part.lines.reserve(reader.entries().count());
        for entry in reader.entries() {
            let entry = entry?;
            let mut decoder = Decoder::new(entry, &buffers.line_names);
            let (key, number) = (decoder.hash()?, decoder.u64()?);
            if let Some(index) = index_without(self.removed_lines, number) {
                if self.crossing.contains(&key) {
                    moved_lines.write_encoded(entry)?;
                } else {
                    part.lines.push((index, decoder.line()?));
                }
            }
        }
        moved_lines.finish()?;
        buffers.spill_bytes = reader.into_buffer();
        Ok(())
    }

    /// Reads the crossing partition: what every partition moved there, in run order.
    fn read_crossing(&self) -> io::Result<PartInputs> {
        let mut records = Vec::new();
        let mut lines = Vec::new();
        for partition in 0..self.files.partitions {
            let reader = SpillReader::open(&self.files.path(Spill::CrossingUsage, partition))?;
            for entry in reader.entries() {
                let mut decoder = Decoder::new(entry?, self.usage_names);
                let (_key, number) = (decoder.hash()?, decoder.u64()?);
                let index = index_without(self.removed_records, number).expect("moved records are not removed");
                records.push((index, decoder.record()?));
            }
            let reader = SpillReader::open(&self.files.path(Spill::CrossingLines, partition))?;
            for entry in reader.entries() {
                let mut decoder = Decoder::new(entry?, self.line_names);
                let (_key, number) = (decoder.hash()?, decoder.u64()?);
                let index = index_without(self.removed_lines, number).expect("moved lines are not removed");
                lines.push((index, decoder.line()?));
            }
        }
        records.sort_unstable_by_key(|(index, _)| *index);
        lines.sort_unstable_by_key(|(index, _)| *index);
        let (record_indexes, records) = records.into_iter().unzip();
        Ok(PartInputs { records, record_indexes, lines })
    }

    /// Reconciles one partition, rating its records into `ratings` (a worker's, kept from one
    /// partition to the next).
    fn reconcile(&self, part: &PartInputs, ratings: &mut Vec<Option<Rating>>) -> Reconciliation {
        let inputs = self.inputs;
        rate_all_into(inputs.deck, &part.records, Party::Carrier, inputs.networks, ratings);
        let mut reconciler =
            Reconciler::for_part(&part.records, ratings, &part.record_indexes, self.facts, inputs.fx, inputs.config);
        // Lines in run order: the run's own, then those that only take records.
        for (index, line) in &part.lines {
            if *index < self.own_lines {
                reconciler.add_line_at(*index, line);
            } else {
                reconciler.add_line_of_other_period(line);
            }
        }
        reconciler.finish()
    }
}

/// A record's or line's index in the run once the removed ones are left out; `None` for a
/// removed one.
fn index_without(removed: &[u64], number: u64) -> Option<usize> {
    match removed.binary_search(&number) {
        Ok(_) => None,
        Err(removed_before) => Some((number - removed_before as u64) as usize),
    }
}

/// Reconciles the partitions on `workers` threads, each taking the next partition.
fn reconcile_partitions(part: &Part<'_>, workers: usize) -> Result<Vec<Reconciliation>, Error> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Reconciliation>> = Mutex::new(Vec::with_capacity(part.files.partitions));
    let failure: Mutex<Option<io::Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.min(part.files.partitions) {
            scope.spawn(|| {
                let mut buffers = WorkerBuffers::for_worker(part);
                loop {
                    let partition = next.fetch_add(1, Ordering::Relaxed);
                    if partition >= part.files.partitions || failure.lock().expect("not poisoned").is_some() {
                        break;
                    }
                    match part.read_partition(partition, &mut buffers) {
                        Ok(()) => {
                            let reconciliation = part.reconcile(&buffers.part, &mut buffers.ratings);
                            results.lock().expect("not poisoned").push(reconciliation);
                        }
                        Err(error) => {
                            failure.lock().expect("not poisoned").get_or_insert(error);
                            break;
                        }
                    }
                }
            });
        }
    });
    if let Some(error) = failure.into_inner().expect("not poisoned") {
        return Err(spill_error(&part.files.dir, error));
    }
    Ok(results.into_inner().expect("not poisoned"))
}

fn directory_bytes(dir: &Path) -> u64 {
    let Ok(entries) = fs_err::read_dir(dir) else { return 0 };
    entries.filter_map(Result::ok).filter_map(|entry| entry.metadata().ok()).map(|metadata| metadata.len()).sum()
}

/// The name of every run's spill folder begins with it.
const SPILL_PREFIX: &str = ".reckon-spill-";

/// The file in a spill folder that names its owner: the process id and its start time (a pid
/// alone could be a later process's).
const OWNER_FILE: &str = "owner";

/// How old a spill folder without an owner file must be to be stale: a run writes the file
/// right after making the folder, so only an older run's folder, or one killed in between,
/// lacks it past this.
const UNOWNED_SPILL_AGE_MIN: std::time::Duration = std::time::Duration::from_secs(60);

/// Writes the owner file of a fresh spill folder.
fn claim(dir: &Path) -> io::Result<()> {
    let identity = process_identity(std::process::id()).unwrap_or_default();
    fs_err::write(dir.join(OWNER_FILE), identity)
}

/// A process's id and start time (clock ticks since boot, field 22 of `/proc/PID/stat`);
/// `None` when no such process runs, or where there is no `/proc`.
fn process_identity(pid: u32) -> Option<String> {
    let stat = fs_err::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces and parentheses.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let start_time = after_name.split_whitespace().nth(19)?;
    Some(format!("{pid} {start_time}"))
}

/// Removes the spill folders in `spill_dir` whose owner no longer runs (killed before it could
/// remove them). Best effort: a folder that cannot be read or removed stays, and where there is
/// no `/proc` to tell a live owner, every folder stays.
fn remove_stale_spills(spill_dir: &Path) {
    if process_identity(std::process::id()).is_none() {
        return;
    }
    let Ok(entries) = fs_err::read_dir(spill_dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let is_spill = entry.file_name().to_str().is_some_and(|name| name.starts_with(SPILL_PREFIX));
        if !is_spill || !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
            continue;
        }
        let folder = entry.path();
        let stale = match fs_err::read_to_string(folder.join(OWNER_FILE)) {
            Ok(owner) => {
                let pid = owner.split_whitespace().next().and_then(|pid| pid.parse::<u32>().ok());
                pid.and_then(process_identity).as_deref() != Some(owner.trim())
            }
            Err(_) => entry
                .metadata()
                .and_then(|metadata| metadata.modified())
                .ok()
                .and_then(|modified| modified.elapsed().ok())
                .is_some_and(|age| age >= UNOWNED_SPILL_AGE_MIN),
        };
        if stale {
            let _ = fs_err::remove_dir_all(&folder);
        }
    }
}
