//! The binary form of records and lines in spill files: compact, exact, and read back without
//! parsing text. A spill file is only ever read by the run that wrote it, so the form has no
//! version; a file that does not decode is a bug or a damaged disk, reported as such.

use compact_str::CompactString;
use jiff::civil::Date;
use jiff::Timestamp;
use reckon_core::{Currency, Decimal, Destination, InvoiceLine, Service, UsageRecord};
use rustc_hash::FxHashSet;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes buffered per spill file before a write: large enough that writes are few, small enough
/// that hundreds of open partitions stay within a few tens of MB.
const SPILL_BUFFER_BYTES: usize = 128 * 1024;

/// A spill file being written.
pub struct SpillWriter {
    path: PathBuf,
    file: BufWriter<fs_err::File>,
    scratch: Vec<u8>,
    pub entries: u64,
}

impl SpillWriter {
    pub fn create(path: PathBuf) -> io::Result<SpillWriter> {
        let file = fs_err::File::create(&path)?;
        Ok(SpillWriter {
            path,
            file: BufWriter::with_capacity(SPILL_BUFFER_BYTES, file),
            scratch: Vec::new(),
            entries: 0,
        })
    }

    /// Writes one entry built by `encode` (length-prefixed, so entries can be copied whole).
    pub fn write(&mut self, encode: impl FnOnce(&mut Encoder<'_>)) -> io::Result<()> {
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        encode(&mut Encoder(&mut scratch));
        let written = self.write_encoded(&scratch);
        self.scratch = scratch;
        written
    }

    /// Writes an entry already encoded (the bytes of [`SpillReader::next_entry`]).
    pub fn write_encoded(&mut self, entry: &[u8]) -> io::Result<()> {
        let length = u32::try_from(entry.len()).map_err(|_| io::Error::other("a spill entry past 4 GiB"))?;
        self.file.write_all(&length.to_le_bytes())?;
        self.file.write_all(entry)?;
        self.entries += 1;
        Ok(())
    }

    /// Flushes and closes the file, returning its path.
    pub fn finish(self) -> io::Result<PathBuf> {
        let mut file = self.file.into_inner().map_err(io::IntoInnerError::into_error)?;
        file.flush()?;
        Ok(self.path)
    }
}

/// Encodes values into an entry.
pub struct Encoder<'b>(&'b mut Vec<u8>);

impl Encoder<'_> {
    pub fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    fn u32(&mut self, value: u32) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }

    pub fn str(&mut self, value: &str) {
        // A field longer than 4 GiB cannot come out of a CSV row the readers accept.
        self.u32(u32::try_from(value.len()).unwrap_or(u32::MAX - 1));
        self.0.extend_from_slice(value.as_bytes());
    }

    fn optional_str(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.str(value),
            None => self.u32(u32::MAX),
        }
    }

    fn decimal(&mut self, value: Decimal) {
        self.0.extend_from_slice(&value.serialize());
    }

    fn timestamp(&mut self, value: Timestamp) {
        self.0.extend_from_slice(&value.as_second().to_le_bytes());
        self.0.extend_from_slice(&value.subsec_nanosecond().to_le_bytes());
    }

    fn service(&mut self, service: Service) {
        self.0.push(service.index() as u8);
    }

    /// A usage record.
    pub fn record(&mut self, record: &UsageRecord) {
        self.str(&record.record_id);
        self.service(record.service);
        self.str(&record.carrier);
        self.optional_str(record.carrier_ref.as_deref());
        self.optional_str(record.customer.as_deref());
        self.timestamp(record.started_at);
        self.optional_str(record.origin.as_ref().map(Destination::digits));
        self.str(record.destination.digits());
        self.decimal(record.quantity);
        self.optional_str(record.network.as_deref());
    }

    /// An invoice line.
    pub fn line(&mut self, line: &InvoiceLine) {
        self.str(&line.carrier);
        self.str(&line.invoice_id);
        match line.invoice_date {
            Some(date) => {
                self.0.push(1);
                self.0.extend_from_slice(&date.year().to_le_bytes());
                self.0.push(date.month() as u8);
                self.0.push(date.day() as u8);
            }
            None => self.0.push(0),
        }
        self.str(&line.line_id);
        self.optional_str(line.carrier_ref.as_deref());
        self.service(line.service);
        self.timestamp(line.started_at);
        self.str(line.destination.digits());
        self.decimal(line.quantity);
        match line.rate {
            Some(rate) => {
                self.0.push(1);
                self.decimal(rate);
            }
            None => self.0.push(0),
        }
        self.decimal(line.amount);
        self.0.extend_from_slice(line.currency.as_str().as_bytes());
    }
}

/// An entry that does not decode: the spill file was damaged after it was written.
fn damaged() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a spill file is damaged (it does not decode)")
}

/// A whole spill file in memory, read entry by entry.
pub struct SpillReader {
    bytes: Vec<u8>,
}

impl SpillReader {
    pub fn open(path: &Path) -> io::Result<SpillReader> {
        Ok(SpillReader { bytes: fs_err::read(path)? })
    }

    /// The entries' bytes, in the order they were written.
    pub fn entries(&self) -> Entries<'_> {
        Entries { bytes: &self.bytes }
    }
}

/// The entries of a [`SpillReader`].
pub struct Entries<'b> {
    bytes: &'b [u8],
}

impl<'b> Iterator for Entries<'b> {
    type Item = io::Result<&'b [u8]>;

    fn next(&mut self) -> Option<io::Result<&'b [u8]>> {
        if self.bytes.is_empty() {
            return None;
        }
        let Some((length, rest)) = self.bytes.split_first_chunk::<4>() else {
            self.bytes = &[];
            return Some(Err(damaged()));
        };
        let length = u32::from_le_bytes(*length) as usize;
        if rest.len() < length {
            self.bytes = &[];
            return Some(Err(damaged()));
        }
        let (entry, rest) = rest.split_at(length);
        self.bytes = rest;
        Some(Ok(entry))
    }
}

/// Decodes the values of one entry, sharing repeated names.
pub struct Decoder<'b, 'n> {
    bytes: &'b [u8],
    names: &'n mut Names,
}

/// Shared copies of the names that repeat across records (carriers, customers, invoices).
#[derive(Default)]
pub struct Names(FxHashSet<Arc<str>>);

impl Names {
    fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(existing) = self.0.get(name) {
            return existing.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.insert(shared.clone());
        shared
    }
}

impl<'b, 'n> Decoder<'b, 'n> {
    pub fn new(bytes: &'b [u8], names: &'n mut Names) -> Decoder<'b, 'n> {
        Decoder { bytes, names }
    }

    fn take(&mut self, count: usize) -> io::Result<&'b [u8]> {
        if self.bytes.len() < count {
            return Err(damaged());
        }
        let (taken, rest) = self.bytes.split_at(count);
        self.bytes = rest;
        Ok(taken)
    }

    fn array<const N: usize>(&mut self) -> io::Result<[u8; N]> {
        self.take(N)?.try_into().map_err(|_| damaged())
    }

    pub fn u64(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn optional_str(&mut self) -> io::Result<Option<&'b str>> {
        let length = u32::from_le_bytes(self.array()?);
        if length == u32::MAX {
            return Ok(None);
        }
        let bytes = self.take(length as usize)?;
        std::str::from_utf8(bytes).map(Some).map_err(|_| damaged())
    }

    pub fn str(&mut self) -> io::Result<&'b str> {
        self.optional_str()?.ok_or_else(damaged)
    }

    fn name(&mut self) -> io::Result<Arc<str>> {
        let name = self.str()?;
        Ok(self.names.intern(name))
    }

    fn decimal(&mut self) -> io::Result<Decimal> {
        Ok(Decimal::deserialize(self.array()?))
    }

    fn timestamp(&mut self) -> io::Result<Timestamp> {
        let seconds = i64::from_le_bytes(self.array()?);
        let nanoseconds = i32::from_le_bytes(self.array()?);
        Timestamp::new(seconds, nanoseconds).map_err(|_| damaged())
    }

    fn service(&mut self) -> io::Result<Service> {
        Service::ALL.get(usize::from(self.u8()?)).copied().ok_or_else(damaged)
    }

    fn destination(&mut self) -> io::Result<Destination> {
        Destination::from_digits(self.str()?).ok_or_else(damaged)
    }

    /// A usage record written by [`Encoder::record`].
    pub fn record(&mut self) -> io::Result<UsageRecord> {
        Ok(UsageRecord {
            record_id: CompactString::from(self.str()?),
            service: self.service()?,
            carrier: self.name()?,
            carrier_ref: self.optional_str()?.map(CompactString::from),
            customer: match self.optional_str()? {
                Some(customer) => Some(self.names.intern(customer)),
                None => None,
            },
            started_at: self.timestamp()?,
            origin: match self.optional_str()? {
                Some(digits) => Some(Destination::from_digits(digits).ok_or_else(damaged)?),
                None => None,
            },
            destination: self.destination()?,
            quantity: self.decimal()?,
            network: self.optional_str()?.map(CompactString::from),
        })
    }

    /// An invoice line written by [`Encoder::line`].
    pub fn line(&mut self) -> io::Result<InvoiceLine> {
        let carrier = self.name()?;
        let invoice_id = self.name()?;
        let invoice_date = match self.u8()? {
            0 => None,
            _ => {
                let year = i16::from_le_bytes(self.array()?);
                let (month, day) = (self.u8()? as i8, self.u8()? as i8);
                Some(Date::new(year, month, day).map_err(|_| damaged())?)
            }
        };
        Ok(InvoiceLine {
            carrier,
            invoice_id,
            invoice_date,
            line_id: CompactString::from(self.str()?),
            carrier_ref: self.optional_str()?.map(CompactString::from),
            service: self.service()?,
            started_at: self.timestamp()?,
            destination: self.destination()?,
            quantity: self.decimal()?,
            rate: match self.u8()? {
                0 => None,
                _ => Some(self.decimal()?),
            },
            amount: self.decimal()?,
            currency: Currency::parse(std::str::from_utf8(&self.array::<3>()?).map_err(|_| damaged())?)
                .ok_or_else(damaged)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn records_and_lines_read_back_equal() {
        let record = UsageRecord {
            record_id: "u-1".into(),
            service: Service::Sms,
            carrier: "acme".into(),
            carrier_ref: Some("R1".into()),
            customer: None,
            started_at: "2026-03-02T10:00:00.123456789Z".parse().unwrap(),
            origin: Some(Destination::from_digits("0044").unwrap()),
            destination: Destination::parse("+44 7911 000001").unwrap(),
            quantity: Decimal::from_str("0.000000000001").unwrap(),
            network: Some("23410".into()),
        };
        let line = InvoiceLine {
            carrier: "acme".into(),
            invoice_id: "INV-1".into(),
            invoice_date: Some(jiff::civil::date(2026, 3, 31)),
            line_id: "7".into(),
            carrier_ref: None,
            service: Service::Voice,
            started_at: "2026-03-02T10:00:00Z".parse().unwrap(),
            destination: Destination::parse("447911000001").unwrap(),
            quantity: Decimal::from(60),
            rate: Some(Decimal::from_str("0.0125").unwrap()),
            amount: Decimal::from_str("-12.500000").unwrap(),
            currency: Currency::parse("GBP").unwrap(),
        };
        let mut bytes = Vec::new();
        Encoder(&mut bytes).record(&record);
        Encoder(&mut bytes).line(&line);
        let mut names = Names::default();
        let mut decoder = Decoder::new(&bytes, &mut names);
        assert_eq!(decoder.record().unwrap(), record);
        assert_eq!(decoder.line().unwrap(), line);
        assert!(decoder.bytes.is_empty());
        // Truncated: an error, never a panic.
        for cut in 0..bytes.len() {
            let mut names = Names::default();
            let mut decoder = Decoder::new(&bytes[..cut], &mut names);
            assert!(decoder.record().and_then(|_| decoder.line()).is_err());
        }
    }
}
