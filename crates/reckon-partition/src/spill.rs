//! The binary form of records and lines in spill files: compact (varints, names as ids), exact,
//! and read back without parsing text. A spill file is only ever read by the run that wrote it, so the form has no
//! version; a file that does not decode is a bug or a damaged disk, reported as such.

use compact_str::CompactString;
use jiff::civil::Date;
use jiff::Timestamp;
use reckon_core::usage::DeliveryStatus;
use reckon_core::{Currency, Decimal, Destination, InvoiceLine, Service, UsageRecord};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes buffered per spill file before a write: large enough that writes are few, small enough
/// that hundreds of open partitions stay within a few tens of MB.
const SPILL_BUFFER_BYTES: usize = 64 * 1024;

/// A spill file being written. Entries are encoded straight into its buffer (no copy of each
/// entry through a scratch vector and a `BufWriter`), each behind its length as a varint.
pub struct SpillWriter {
    path: PathBuf,
    file: fs_err::File,
    buffer: Vec<u8>,
    pub entries: u64,
}

impl SpillWriter {
    pub fn create(path: PathBuf) -> io::Result<SpillWriter> {
        let file = fs_err::File::create(&path)?;
        Ok(SpillWriter { path, file, buffer: Vec::new(), entries: 0 })
    }

    /// Writes one entry built by `encode`, behind its length (so entries can be copied whole).
    pub fn write(&mut self, encode: impl FnOnce(&mut Encoder<'_>)) -> io::Result<()> {
        if self.buffer.capacity() == 0 {
            self.buffer.reserve_exact(SPILL_BUFFER_BYTES + SPILL_BUFFER_BYTES / 4);
        }
        // One byte for the length, the usual case (entries under 128 bytes); a longer entry
        // moves over for the length's other bytes.
        let start = self.buffer.len();
        self.buffer.push(0);
        encode(&mut Encoder::new(&mut self.buffer));
        let length = self.buffer.len() - start - 1;
        let length = u32::try_from(length).map_err(|_| io::Error::other("a spill entry past 4 GiB"))?;
        if length < 0x80 {
            self.buffer[start] = length as u8;
        } else {
            let mut prefix = Vec::new();
            Encoder::new(&mut prefix).u64(u64::from(length));
            self.buffer.splice(start..=start, prefix);
        }
        self.entries += 1;
        self.flush_when_full()
    }

    /// Writes an entry already encoded (the bytes of an entry of [`SpillReader::entries`]).
    pub fn write_encoded(&mut self, entry: &[u8]) -> io::Result<()> {
        let length = u32::try_from(entry.len()).map_err(|_| io::Error::other("a spill entry past 4 GiB"))?;
        Encoder::new(&mut self.buffer).u64(u64::from(length));
        self.buffer.extend_from_slice(entry);
        self.entries += 1;
        self.flush_when_full()
    }

    fn flush_when_full(&mut self) -> io::Result<()> {
        if self.buffer.len() >= SPILL_BUFFER_BYTES {
            self.file.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }

    /// Writes what is buffered and closes the file, returning its path.
    pub fn finish(mut self) -> io::Result<PathBuf> {
        self.file.write_all(&self.buffer)?;
        self.file.flush()?;
        Ok(self.path)
    }
}

/// Ids of the names (carriers, customers, invoices) written by one thread: a name is written
/// once, in the table, and each entry carries its id. Names are told apart by their shared
/// copy's address (the readers intern them); the table keeps every copy alive, so an address
/// is never reused for another name while it exists.
#[derive(Default)]
pub struct NameIds {
    ids: rustc_hash::FxHashMap<usize, u32>,
    names: Vec<Arc<str>>,
}

impl NameIds {
    fn id(&mut self, name: &Arc<str>) -> u32 {
        let address = Arc::as_ptr(name).cast::<u8>() as usize;
        *self.ids.entry(address).or_insert_with(|| {
            self.names.push(name.clone());
            (self.names.len() - 1) as u32
        })
    }

    /// The names by id, for a [`Decoder`].
    pub fn into_table(self) -> Vec<Arc<str>> {
        self.names
    }
}

/// Encodes values into an entry: integers as LEB128 varints, decimals as scale and mantissa,
/// names as ids.
pub struct Encoder<'b> {
    bytes: &'b mut Vec<u8>,
}

impl<'b> Encoder<'b> {
    pub fn new(bytes: &'b mut Vec<u8>) -> Encoder<'b> {
        Encoder { bytes }
    }

    pub fn u64(&mut self, mut value: u64) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    fn u128(&mut self, mut value: u128) {
        while value >= 0x80 {
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        self.bytes.push(value as u8);
    }

    /// A fixed 8-byte value (a hash: a varint would not be shorter).
    pub fn hash(&mut self, value: u64) {
        self.bytes.extend_from_slice(&value.to_le_bytes());
    }

    pub fn str(&mut self, value: &str) {
        self.u64(value.len() as u64 + 1);
        self.bytes.extend_from_slice(value.as_bytes());
    }

    fn optional_str(&mut self, value: Option<&str>) {
        match value {
            Some(value) => self.str(value),
            None => self.u64(0),
        }
    }

    fn name(&mut self, name: &Arc<str>, names: &mut NameIds) {
        self.u64(u64::from(names.id(name)));
    }

    fn decimal(&mut self, value: Decimal) {
        self.bytes.push(value.scale() as u8);
        let mantissa = value.mantissa();
        self.u128(((mantissa << 1) ^ (mantissa >> 127)) as u128);
    }

    fn timestamp(&mut self, value: Timestamp) {
        let seconds = value.as_second();
        self.u64(((seconds << 1) ^ (seconds >> 63)) as u64);
        self.u64(value.subsec_nanosecond().unsigned_abs().into());
        self.bytes.push(u8::from(value.subsec_nanosecond() < 0));
    }

    fn service(&mut self, service: Service) {
        self.bytes.push(service.index() as u8);
    }

    /// A usage record.
    pub fn record(&mut self, record: &UsageRecord, names: &mut NameIds) {
        self.str(&record.record_id);
        self.service(record.service);
        self.name(&record.carrier, names);
        self.optional_str(record.carrier_ref.as_deref());
        match &record.customer {
            Some(customer) => self.u64(u64::from(names.id(customer)) + 1),
            None => self.u64(0),
        }
        self.timestamp(record.started_at);
        self.optional_str(record.origin.as_ref().map(Destination::digits));
        self.str(record.destination.digits());
        self.decimal(record.quantity);
        self.optional_str(record.network.as_deref());
        self.bytes.push(record.status.map_or(0, DeliveryStatus::code));
    }

    /// An invoice line.
    pub fn line(&mut self, line: &InvoiceLine, names: &mut NameIds) {
        self.name(&line.carrier, names);
        self.name(&line.invoice_id, names);
        match line.invoice_date {
            Some(date) => {
                self.bytes.push(1);
                self.bytes.extend_from_slice(&date.year().to_le_bytes());
                self.bytes.push(date.month() as u8);
                self.bytes.push(date.day() as u8);
            }
            None => self.bytes.push(0),
        }
        self.str(&line.line_id);
        self.optional_str(line.carrier_ref.as_deref());
        self.service(line.service);
        self.timestamp(line.started_at);
        self.str(line.destination.digits());
        self.decimal(line.quantity);
        match line.rate {
            Some(rate) => {
                self.bytes.push(1);
                self.decimal(rate);
            }
            None => self.bytes.push(0),
        }
        self.decimal(line.amount);
        self.bytes.extend_from_slice(line.currency.as_str().as_bytes());
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
        SpillReader::open_in(path, Vec::new())
    }

    /// Reads a file into `buffer` (cleared first): a worker reading partition after partition
    /// reuses one buffer instead of having fresh pages zeroed for every file.
    pub fn open_in(path: &Path, mut buffer: Vec<u8>) -> io::Result<SpillReader> {
        use std::io::Read;
        buffer.clear();
        fs_err::File::open(path)?.read_to_end(&mut buffer)?;
        Ok(SpillReader { bytes: buffer })
    }

    /// The buffer back, for the next [`SpillReader::open_in`].
    pub fn into_buffer(self) -> Vec<u8> {
        self.bytes
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
        let mut lengths = Decoder::new(self.bytes, &[]);
        let entry = lengths.u64().and_then(|length| {
            let length = usize::try_from(length).map_err(|_| damaged())?;
            lengths.take(length)
        });
        self.bytes = match entry {
            Ok(_) => lengths.bytes,
            Err(_) => &[],
        };
        Some(entry)
    }
}

/// Decodes the values of one entry; names come from the writer's table.
pub struct Decoder<'b, 'n> {
    bytes: &'b [u8],
    names: &'n [Arc<str>],
}

impl<'b, 'n> Decoder<'b, 'n> {
    pub fn new(bytes: &'b [u8], names: &'n [Arc<str>]) -> Decoder<'b, 'n> {
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
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(damaged())
    }

    fn u128(&mut self) -> io::Result<u128> {
        let mut value = 0u128;
        for shift in (0..128).step_by(7) {
            let byte = self.u8()?;
            value |= u128::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(damaged())
    }

    pub fn hash(&mut self) -> io::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn optional_str(&mut self) -> io::Result<Option<&'b str>> {
        let length = self.u64()?;
        if length == 0 {
            return Ok(None);
        }
        let length = usize::try_from(length - 1).map_err(|_| damaged())?;
        let bytes = self.take(length)?;
        std::str::from_utf8(bytes).map(Some).map_err(|_| damaged())
    }

    pub fn str(&mut self) -> io::Result<&'b str> {
        self.optional_str()?.ok_or_else(damaged)
    }

    fn name_of(&self, id: u64) -> io::Result<Arc<str>> {
        let index = usize::try_from(id).map_err(|_| damaged())?;
        self.names.get(index).cloned().ok_or_else(damaged)
    }

    fn name(&mut self) -> io::Result<Arc<str>> {
        let id = self.u64()?;
        self.name_of(id)
    }

    fn decimal(&mut self) -> io::Result<Decimal> {
        let scale = u32::from(self.u8()?);
        let zigzag = self.u128()?;
        let mantissa = ((zigzag >> 1) as i128) ^ -((zigzag & 1) as i128);
        Decimal::try_from_i128_with_scale(mantissa, scale).map_err(|_| damaged())
    }

    fn timestamp(&mut self) -> io::Result<Timestamp> {
        let zigzag = self.u64()?;
        let seconds = ((zigzag >> 1) as i64) ^ -((zigzag & 1) as i64);
        let nanoseconds = i32::try_from(self.u64()?).map_err(|_| damaged())?;
        let nanoseconds = if self.u8()? == 1 { -nanoseconds } else { nanoseconds };
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
            customer: match self.u64()? {
                0 => None,
                id => Some(self.name_of(id - 1)?),
            },
            started_at: self.timestamp()?,
            origin: match self.optional_str()? {
                Some(digits) => Some(Destination::from_digits(digits).ok_or_else(damaged)?),
                None => None,
            },
            destination: self.destination()?,
            quantity: self.decimal()?,
            network: self.optional_str()?.map(CompactString::from),
            status: match self.u8()? {
                0 => None,
                code => Some(DeliveryStatus::from_code(code).ok_or_else(damaged)?),
            },
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
            status: Some(reckon_core::usage::DeliveryStatus::Expired),
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
        let mut names = NameIds::default();
        Encoder::new(&mut bytes).record(&record, &mut names);
        Encoder::new(&mut bytes).line(&line, &mut names);
        let table = names.into_table();
        let mut decoder = Decoder::new(&bytes, &table);
        assert_eq!(decoder.record().unwrap(), record);
        assert_eq!(decoder.line().unwrap(), line);
        assert!(decoder.bytes.is_empty());
        // Truncated: an error, never a panic.
        for cut in 0..bytes.len() {
            let mut decoder = Decoder::new(&bytes[..cut], &table);
            assert!(decoder.record().and_then(|_| decoder.line()).is_err());
        }
        // Extremes of decimals and instants survive.
        let mut bytes = Vec::new();
        let extremes = [Decimal::MAX, Decimal::MIN, Decimal::new(-1, 28), Decimal::ZERO];
        for value in extremes {
            Encoder::new(&mut bytes).decimal(value);
        }
        Encoder::new(&mut bytes).timestamp(Timestamp::MIN);
        Encoder::new(&mut bytes).timestamp(Timestamp::MAX);
        let mut decoder = Decoder::new(&bytes, &table);
        for value in extremes {
            assert_eq!(decoder.decimal().unwrap(), value);
        }
        assert_eq!(decoder.timestamp().unwrap(), Timestamp::MIN);
        assert_eq!(decoder.timestamp().unwrap(), Timestamp::MAX);
    }
}
