//! Categorical tables: named columns of dictionary-encoded values, stored row by row.
//!
//! A [`Frame`] holds, for every column, its name and its *levels* (the values it can take, in
//! order), and for every row and column a code: the position of the row's value among the
//! column's levels, or *missing*. The codes are stored row-major in the narrowest unsigned type
//! that holds every column's levels plus one reserved value, the type's largest, which marks a
//! missing value ([`Codes`], [`Code`]): one byte per value while no column has more than 255
//! levels, two up to 65,535, four beyond.
//!
//! Frames come from memory ([`Frame::from_rows`], [`Frame::from_columns`]; an empty value or
//! `None` is missing) or are encoded row by row with a [`FrameBuilder`], whose columns either
//! learn their levels in order of first appearance or hold a fixed [`Dictionary`] that rejects
//! unknown values. The seed ([`inputs::Seed`](crate::inputs::Seed)), the tables `compare`
//! reads ([`comparison::Table`](crate::comparison::Table)) and the responses `evaluate` reads
//! ([`evaluation::Dataset`](crate::evaluation::Dataset)) are frames.
//!
//! ```
//! use populace::frame::Frame;
//!
//! let people = Frame::from_rows(&["sex", "age"], &[["f", "old"], ["m", ""], ["f", "young"]])?;
//! assert_eq!(people.rows(), 3);
//! assert_eq!(people.levels(1), ["old", "young"]); // in order of first appearance
//! assert_eq!(people.record(1).collect::<Vec<_>>(), [Some(1), None]); // "m", missing
//! assert_eq!(people.value(2, people.column("age").unwrap()), Some("young"));
//! # Ok::<(), populace::Error>(())
//! ```

use crate::error::{Error, Result};

/// Codes of a frame, row-major, in the narrowest unsigned type that holds every column's levels
/// and the missing code ([`Code::MISSING`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Codes {
    /// Every column has at most 255 levels.
    U8(Vec<u8>),
    /// Every column has at most 65,535 levels.
    U16(Vec<u16>),
    /// Some column has more.
    U32(Vec<u32>),
}

impl Codes {
    /// No codes, in the narrowest type that holds `levels` levels.
    fn for_levels(levels: usize) -> Codes {
        if levels <= u8::LEVELS {
            Codes::U8(Vec::new())
        } else if levels <= u16::LEVELS {
            Codes::U16(Vec::new())
        } else {
            Codes::U32(Vec::new())
        }
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        match self {
            Codes::U8(c) => c.len(),
            Codes::U16(c) => c.len(),
            Codes::U32(c) => c.len(),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `j`-th code: a level's position, or `None` for a missing value.
    #[inline]
    pub fn get(&self, j: usize) -> Option<u32> {
        match self {
            Codes::U8(c) => c[j].level(),
            Codes::U16(c) => c[j].level(),
            Codes::U32(c) => c[j].level(),
        }
    }

    /// The most levels a column may have with codes of this type.
    pub fn max_levels(&self) -> usize {
        match self {
            Codes::U8(_) => u8::LEVELS,
            Codes::U16(_) => u16::LEVELS,
            Codes::U32(_) => u32::LEVELS,
        }
    }

    /// Appends codes (`None`: missing), each within [`Codes::max_levels`].
    fn extend(&mut self, codes: &[Option<u32>]) {
        fn push<C: Code>(out: &mut Vec<C>, codes: &[Option<u32>]) {
            out.extend(codes.iter().map(|c| c.map_or(C::MISSING, C::narrow)));
        }
        match self {
            Codes::U8(c) => push(c, codes),
            Codes::U16(c) => push(c, codes),
            Codes::U32(c) => push(c, codes),
        }
    }

    /// The same codes in a type that holds `levels` levels, if this one does not.
    fn widen(&mut self, levels: usize) {
        fn convert<C: Code, D: Code>(codes: &[C]) -> Vec<D> {
            codes.iter().map(|&c| c.level().map_or(D::MISSING, D::narrow)).collect()
        }
        if levels <= self.max_levels() {
            return;
        }
        *self = match (&*self, levels <= u16::LEVELS) {
            (Codes::U8(c), true) => Codes::U16(convert(c)),
            (Codes::U8(c), false) => Codes::U32(convert(c)),
            (Codes::U16(c), _) => Codes::U32(convert(c)),
            (Codes::U32(_), _) => unreachable!("u32 codes hold every level a dictionary can have"),
        };
    }
}

/// An unsigned type [`Codes`] come in. Its largest value is the missing code; every smaller
/// value is a level's position.
pub trait Code: Copy + Eq + Default + Send + Sync + Into<u32> + 'static {
    /// The most levels a column with codes of this type may have (all values but the largest).
    const LEVELS: usize;

    /// The code of a missing value: the type's largest.
    const MISSING: Self;

    /// `code`, which must be below [`Code::LEVELS`].
    fn narrow(code: u32) -> Self;

    /// Codes stored in this type.
    fn wrap(codes: Vec<Self>) -> Codes;

    /// The level position this code stands for, or `None` for the missing code.
    #[inline]
    fn level(self) -> Option<u32> {
        (self != Self::MISSING).then(|| self.into())
    }
}

macro_rules! code {
    ($t:ty, $variant:ident) => {
        impl Code for $t {
            const LEVELS: usize = <$t>::MAX as usize;
            const MISSING: Self = <$t>::MAX;

            #[inline]
            fn narrow(code: u32) -> Self {
                debug_assert!((code as usize) < Self::LEVELS);
                code as $t
            }

            fn wrap(codes: Vec<Self>) -> Codes {
                Codes::$variant(codes)
            }
        }
    };
}
code!(u8, U8);
code!(u16, U16);
code!(u32, U32);

/// One column of a [`Frame`]: its name and its levels in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    name: String,
    levels: Vec<String>,
}

impl Column {
    /// A column named `name` whose codes are positions in `levels`.
    pub(crate) fn new(name: String, levels: Vec<String>) -> Column {
        Column { name, levels }
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its levels: code `c` stands for `levels()[c]`.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }
}

/// A table of categorical columns: see the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    columns: Vec<Column>,
    rows: usize,
    codes: Codes,
}

impl Frame {
    /// A frame of `rows` rows over `columns` whose codes (row-major) are `codes`, which must be
    /// below their column's number of levels or missing.
    pub(crate) fn from_parts(columns: Vec<Column>, rows: usize, codes: Codes) -> Frame {
        debug_assert_eq!(codes.len(), rows * columns.len());
        debug_assert!(columns.iter().all(|c| c.levels.len() <= codes.max_levels()));
        Frame { columns, rows, codes }
    }

    /// Encodes rows of values, one per column of `names` in each row; every column learns its
    /// levels in order of first appearance, and an empty value or `None` is missing. Values are
    /// taken as given (not trimmed).
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when a name is empty or repeated or a row does not have one
    /// value per column, [`Error::TooLarge`] when a column has more distinct values than
    /// [`u32`] codes can name.
    pub fn from_rows<N, R, V>(names: &[N], rows: &[R]) -> Result<Frame>
    where
        N: AsRef<str>,
        R: AsRef<[V]>,
        V: Value,
    {
        let mut builder = FrameBuilder::new(names.iter().map(|n| (n.as_ref(), Dictionary::learned())))?;
        for (r, row) in rows.iter().enumerate() {
            builder.push(row.as_ref().iter().map(Value::text)).map_err(|e| e.into_error(&builder, r))?;
        }
        Ok(builder.finish())
    }

    /// Encodes columns of values, `(name, values)` each; every column learns its levels in order
    /// of first appearance, and an empty value or `None` is missing. Values are taken as given
    /// (not trimmed).
    ///
    /// ```
    /// use populace::frame::Frame;
    ///
    /// let f = Frame::from_columns(&[("sex", vec![Some("f"), None]), ("age", vec![Some("old"), Some("old")])])?;
    /// assert_eq!((f.rows(), f.code(1, 0), f.code(1, 1)), (2, None, Some(0)));
    /// # Ok::<(), populace::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Frame::from_rows`], with columns of different lengths for rows of different widths.
    pub fn from_columns<N, C, V>(columns: &[(N, C)]) -> Result<Frame>
    where
        N: AsRef<str>,
        C: AsRef<[V]>,
        V: Value,
    {
        let rows = columns.first().map_or(0, |(_, c)| c.as_ref().len());
        if let Some((name, c)) = columns.iter().find(|(_, c)| c.as_ref().len() != rows) {
            return Err(Error::Inconsistent(format!(
                "column \"{}\" has {} values but column \"{}\" has {rows}",
                name.as_ref(),
                c.as_ref().len(),
                columns[0].0.as_ref()
            )));
        }
        let mut builder = FrameBuilder::new(columns.iter().map(|(n, _)| (n.as_ref(), Dictionary::learned())))?;
        for r in 0..rows {
            builder.push(columns.iter().map(|(_, c)| c.as_ref()[r].text())).map_err(|e| e.into_error(&builder, r))?;
        }
        Ok(builder.finish())
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The columns' names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.columns.iter().map(Column::name)
    }

    /// The position of the column named `name`.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The levels of column `col`, in code order.
    pub fn levels(&self, col: usize) -> &[String] {
        &self.columns[col].levels
    }

    /// Row `row`'s code in column `col`: the position of its level, or `None` when missing.
    ///
    /// Panics if `row` or `col` is out of range.
    #[inline]
    pub fn code(&self, row: usize, col: usize) -> Option<u32> {
        assert!(col < self.columns.len(), "column {col} of a frame of {} columns", self.columns.len());
        self.codes.get(row * self.columns.len() + col)
    }

    /// Row `row`'s value in column `col`, or `None` when missing.
    pub fn value(&self, row: usize, col: usize) -> Option<&str> {
        self.code(row, col).map(|c| self.columns[col].levels[c as usize].as_str())
    }

    /// Row `row`'s codes, column by column.
    pub fn record(&self, row: usize) -> impl ExactSizeIterator<Item = Option<u32>> + '_ {
        let k = self.columns.len();
        (row * k..(row + 1) * k).map(|j| self.codes.get(j))
    }

    /// Column `col`'s codes, row by row.
    pub fn column_codes(&self, col: usize) -> impl ExactSizeIterator<Item = Option<u32>> + '_ {
        (0..self.rows).map(move |r| self.code(r, col))
    }

    /// All codes, row-major: to read them in place, in their own type.
    pub fn codes(&self) -> &Codes {
        &self.codes
    }

    /// The columns `cols` of this frame, in that order, with their levels and codes.
    pub(crate) fn select(&self, cols: &[usize]) -> Frame {
        fn pick<C: Code>(codes: &[C], width: usize, cols: &[usize]) -> Codes {
            C::wrap(codes.chunks_exact(width.max(1)).flat_map(|row| cols.iter().map(|&c| row[c])).collect())
        }
        let width = self.columns.len();
        let codes = match &self.codes {
            Codes::U8(c) => pick(c, width, cols),
            Codes::U16(c) => pick(c, width, cols),
            Codes::U32(c) => pick(c, width, cols),
        };
        let columns = cols.iter().map(|&c| self.columns[c].clone()).collect();
        Frame::from_parts(columns, self.rows, codes)
    }

    /// This frame with column `col` replaced by `column`, whose code for each row is
    /// `map[old code]` (`None`: missing; a missing value stays missing).
    pub(crate) fn recode(&self, col: usize, column: Column, map: &[Option<u32>]) -> Frame {
        let mut columns = self.columns.clone();
        columns[col] = column;
        let mut codes = Codes::for_levels(columns.iter().map(|c| c.levels.len()).max().unwrap_or(0));
        let mut row = Vec::with_capacity(columns.len());
        for r in 0..self.rows {
            row.clear();
            row.extend(self.record(r).enumerate().map(|(c, code)| match code {
                Some(l) if c == col => map[l as usize],
                other => other,
            }));
            codes.extend(&row);
        }
        Frame::from_parts(columns, self.rows, codes)
    }

    /// Renames column `col`.
    pub(crate) fn rename(&mut self, col: usize, name: String) {
        self.columns[col].name = name;
    }

    /// Sorts column `col`'s levels (as strings, byte-wise) and renumbers its codes to match.
    ///
    /// ```
    /// use populace::frame::Frame;
    ///
    /// let mut f = Frame::from_rows(&["answer"], &[["b"], ["a"], [""]])?;
    /// f.sort_levels(0);
    /// assert_eq!(f.levels(0), ["a", "b"]);
    /// assert_eq!(f.column_codes(0).collect::<Vec<_>>(), [Some(1), Some(0), None]);
    /// # Ok::<(), populace::Error>(())
    /// ```
    pub fn sort_levels(&mut self, col: usize) {
        fn renumber<C: Code>(codes: &mut [C], width: usize, col: usize, rank: &[u32]) {
            for code in codes.iter_mut().skip(col).step_by(width) {
                if let Some(c) = code.level() {
                    *code = C::narrow(rank[c as usize]);
                }
            }
        }
        let levels = &mut self.columns[col].levels;
        let mut order: Vec<usize> = (0..levels.len()).collect();
        order.sort_by(|&a, &b| levels[a].cmp(&levels[b]));
        let mut rank = vec![0u32; order.len()];
        for (r, &o) in order.iter().enumerate() {
            rank[o] = r as u32;
        }
        *levels = order.iter().map(|&o| std::mem::take(&mut levels[o])).collect();
        let width = self.columns.len();
        match &mut self.codes {
            Codes::U8(c) => renumber(c, width, col, &rank),
            Codes::U16(c) => renumber(c, width, col, &rank),
            Codes::U32(c) => renumber(c, width, col, &rank),
        }
    }
}

/// A value for [`Frame::from_rows`] and [`Frame::from_columns`]: text, where the empty string
/// means missing, or an `Option` of text.
pub trait Value {
    /// The value's text, or `None` when it is missing.
    fn text(&self) -> Option<&str>;
}

fn non_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

impl Value for &str {
    fn text(&self) -> Option<&str> {
        non_empty(self)
    }
}

impl Value for String {
    fn text(&self) -> Option<&str> {
        non_empty(self)
    }
}

impl Value for &String {
    fn text(&self) -> Option<&str> {
        non_empty(self)
    }
}

impl<T: Value> Value for Option<T> {
    fn text(&self) -> Option<&str> {
        self.as_ref().and_then(Value::text)
    }
}

/// A column's levels and the lookup from a value's text to its code.
///
/// A *learned* dictionary adds every new value as a level ([`Dictionary::encode`]); a *fixed*
/// one knows its levels from the start and has no code for any other value. Values are compared
/// byte for byte.
///
/// ```
/// use populace::frame::Dictionary;
///
/// let mut sex = Dictionary::fixed(&["f", "m"])?;
/// assert_eq!((sex.encode("m"), sex.encode("x")), (Some(1), None));
/// let mut city = Dictionary::learned();
/// assert_eq!((city.encode("Oslo"), city.encode("Rome"), city.encode("Oslo")), (Some(0), Some(1), Some(0)));
/// assert_eq!(city.code(b"Rome"), Some(1));
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Dictionary {
    levels: Vec<String>,
    index: Index,
    learns: bool,
}

impl Dictionary {
    /// A dictionary with no levels yet, which learns every value it encodes.
    pub fn learned() -> Dictionary {
        Dictionary { levels: Vec::new(), index: Index::Map(foldhash::HashMap::default()), learns: true }
    }

    /// A dictionary of the given levels (code `c` for `levels[c]`) that learns no others.
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when a level appears twice, [`Error::TooLarge`] when there are
    /// more levels than [`u32`] codes can name.
    pub fn fixed<S: AsRef<str>>(levels: &[S]) -> Result<Dictionary> {
        if levels.len() > u32::LEVELS {
            return Err(Error::TooLarge(format!("{} levels: a column has at most {}", levels.len(), u32::LEVELS)));
        }
        let levels: Vec<String> = levels.iter().map(|l| l.as_ref().to_string()).collect();
        let mut seen = foldhash::HashSet::default();
        if let Some(twice) = levels.iter().find(|l| !seen.insert(l.as_str())) {
            return Err(Error::Inconsistent(format!("level \"{}\" appears twice", twice.escape_debug())));
        }
        let index = Index::new(&levels);
        Ok(Dictionary { levels, index, learns: false })
    }

    /// The levels, in code order.
    pub fn levels(&self) -> &[String] {
        &self.levels
    }

    /// Number of levels.
    pub fn len(&self) -> usize {
        self.levels.len()
    }

    /// Whether there are no levels.
    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Whether new values become levels.
    pub fn learns(&self) -> bool {
        self.learns
    }

    /// The code of the level `value` (its bytes), if it is one.
    #[inline]
    pub fn code(&self, value: &[u8]) -> Option<u32> {
        self.index.get(value)
    }

    /// The code of `value`, adding it as a level first when the dictionary learns; `None` for a
    /// value a fixed dictionary does not have, or a new value when a learned one already has as
    /// many levels as [`u32`] codes can name.
    pub fn encode(&mut self, value: &str) -> Option<u32> {
        self.code(value.as_bytes()).or_else(|| self.learn(value))
    }

    fn learn(&mut self, value: &str) -> Option<u32> {
        let Index::Map(map) = &mut self.index else { return None };
        if !self.learns || self.levels.len() >= u32::LEVELS {
            return None;
        }
        let code = self.levels.len() as u32;
        map.insert(value.as_bytes().into(), code);
        self.levels.push(value.to_string());
        Some(code)
    }

    /// Forgets the last level learned.
    fn unlearn(&mut self) {
        if let (Some(last), Index::Map(map)) = (self.levels.pop(), &mut self.index) {
            map.remove(last.as_bytes());
        }
    }
}

/// Codes by their bytes: levels of at most 7 bytes packed into integers in a small
/// open-addressing table (one multiply and usually one probe), a hash map otherwise.
#[derive(Debug, Clone)]
enum Index {
    /// Slots of (packed level, code); `EMPTY` marks a free slot. A power of two at least four
    /// times the number of levels.
    Packed {
        slots: Vec<(u64, u32)>,
        shift: u32,
    },
    Map(foldhash::HashMap<Box<[u8]>, u32>),
}

/// A free slot: no packed level has all bits set (its top byte, the length, is below 8).
const EMPTY: u64 = u64::MAX;

/// Most levels put in a packed table.
const PACKED_MAX: usize = 1024;

/// A level of at most 7 bytes as one integer: its bytes, and its length in the top byte.
#[inline]
fn pack(bytes: &[u8]) -> Option<u64> {
    if bytes.len() > 7 {
        return None;
    }
    // A shift loop: a variable-length copy into a buffer would call memcpy per field.
    let value = bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Some(value | (bytes.len() as u64) << 56)
}

#[inline]
fn slot(key: u64, shift: u32) -> usize {
    (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> shift) as usize
}

impl Index {
    /// The index of distinct `levels`.
    fn new(levels: &[String]) -> Index {
        let packed: Option<Vec<u64>> = levels.iter().map(|c| pack(c.as_bytes())).collect();
        match packed {
            Some(packed) if packed.len() <= PACKED_MAX => {
                let size = (4 * packed.len()).next_power_of_two().max(8);
                let shift = 64 - size.trailing_zeros();
                let mut slots = vec![(EMPTY, 0); size];
                for (code, &key) in packed.iter().enumerate() {
                    let mut i = slot(key, shift);
                    while slots[i].0 != EMPTY {
                        i = (i + 1) & (size - 1);
                    }
                    slots[i] = (key, code as u32);
                }
                Index::Packed { slots, shift }
            }
            _ => Index::Map(levels.iter().enumerate().map(|(i, c)| (c.as_bytes().into(), i as u32)).collect()),
        }
    }

    #[inline]
    fn get(&self, bytes: &[u8]) -> Option<u32> {
        match self {
            Index::Packed { slots, shift } => {
                let key = pack(bytes)?;
                let mut i = slot(key, *shift);
                loop {
                    match slots[i] {
                        (k, code) if k == key => return Some(code),
                        (EMPTY, _) => return None,
                        _ => i = (i + 1) & (slots.len() - 1),
                    }
                }
            }
            Index::Map(map) => map.get(bytes).copied(),
        }
    }
}

/// Encodes a [`Frame`] row by row, each column with its own [`Dictionary`].
///
/// ```
/// use populace::frame::{Dictionary, FrameBuilder, Rejected};
///
/// let mut b = FrameBuilder::new([("sex", Dictionary::fixed(&["f", "m"])?), ("city", Dictionary::learned())])?;
/// b.push([Some("m"), Some("Oslo")]).unwrap();
/// b.push([None, Some("Rome")]).unwrap();
/// assert_eq!(b.push([Some("x"), Some("Oslo")]), Err(Rejected::Unknown { column: 0 }));
/// let frame = b.finish();
/// assert_eq!((frame.rows(), frame.levels(1).len()), (2, 2));
/// # Ok::<(), populace::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameBuilder {
    names: Vec<String>,
    dictionaries: Vec<Dictionary>,
    rows: usize,
    codes: Codes,
    /// The row being pushed, and the columns that learned a level in it.
    row: Vec<Option<u32>>,
    learned: Vec<usize>,
}

/// Why [`FrameBuilder::push`] did not add a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejected {
    /// The value of column `column` is not a level of its fixed dictionary.
    Unknown {
        /// The column's position.
        column: usize,
    },
    /// Column `column`'s learned dictionary already has as many levels as [`u32`] codes name.
    Full {
        /// The column's position.
        column: usize,
    },
    /// The row has `found` values, not one per column.
    Width {
        /// Number of values in the row.
        found: usize,
    },
}

impl Rejected {
    /// The error [`Frame::from_rows`] reports for row `row` (0-based).
    pub(crate) fn into_error(self, builder: &FrameBuilder, row: usize) -> Error {
        let name = |c: usize| builder.names[c].clone();
        match self {
            Rejected::Unknown { column } => Error::Inconsistent(format!(
                "row {}: column \"{}\" has a value it does not know",
                row + 1,
                name(column)
            )),
            Rejected::Full { column } => {
                Error::TooLarge(format!("column \"{}\" has more than {} distinct values", name(column), u32::LEVELS))
            }
            Rejected::Width { found } => Error::Inconsistent(format!(
                "row {} has {found} values but there are {} columns",
                row + 1,
                builder.names.len()
            )),
        }
    }
}

impl FrameBuilder {
    /// A builder of a frame with the given columns, `(name, dictionary)` each.
    ///
    /// # Errors
    ///
    /// [`Error::Inconsistent`] when a name is empty or repeated.
    pub fn new<N: Into<String>>(columns: impl IntoIterator<Item = (N, Dictionary)>) -> Result<FrameBuilder> {
        let (names, dictionaries): (Vec<String>, Vec<Dictionary>) =
            columns.into_iter().map(|(n, d)| (n.into(), d)).unzip();
        for (i, name) in names.iter().enumerate() {
            if name.is_empty() || names[..i].contains(name) {
                return Err(Error::Inconsistent(format!(
                    "column name \"{}\": column names must be non-empty and distinct",
                    name.escape_debug()
                )));
            }
        }
        let levels = dictionaries.iter().map(Dictionary::len).max().unwrap_or(0);
        Ok(FrameBuilder {
            row: Vec::with_capacity(names.len()),
            learned: Vec::new(),
            names,
            dictionaries,
            rows: 0,
            codes: Codes::for_levels(levels),
        })
    }

    /// Number of rows pushed.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Column `col`'s dictionary as it stands.
    pub fn dictionary(&self, col: usize) -> &Dictionary {
        &self.dictionaries[col]
    }

    /// Encodes one row, a value per column (`None`: missing). A rejected row is not added and
    /// teaches no level.
    ///
    /// # Errors
    ///
    /// [`Rejected`] says which column's value could not be encoded, or that the row has the
    /// wrong number of values.
    pub fn push<'v>(&mut self, values: impl IntoIterator<Item = Option<&'v str>>) -> Result<(), Rejected> {
        self.row.clear();
        self.learned.clear();
        let mut found = 0;
        let mut rejected = None;
        for value in values {
            found += 1;
            if rejected.is_some() {
                continue;
            }
            let Some(dictionary) = self.dictionaries.get_mut(found - 1) else { continue };
            let Some(value) = value else {
                self.row.push(None);
                continue;
            };
            let known = dictionary.len();
            match dictionary.encode(value) {
                Some(code) => {
                    if dictionary.len() > known {
                        self.learned.push(found - 1);
                    }
                    self.row.push(Some(code));
                }
                None if dictionary.learns() => rejected = Some(Rejected::Full { column: found - 1 }),
                None => rejected = Some(Rejected::Unknown { column: found - 1 }),
            }
        }
        if rejected.is_none() && found != self.names.len() {
            rejected = Some(Rejected::Width { found });
        }
        if let Some(rejected) = rejected {
            for &col in &self.learned {
                self.dictionaries[col].unlearn();
            }
            return Err(rejected);
        }
        let levels = self.learned.iter().map(|&c| self.dictionaries[c].len()).max().unwrap_or(0);
        self.codes.widen(levels);
        self.codes.extend(&self.row);
        self.rows += 1;
        Ok(())
    }

    /// The frame of the rows pushed.
    pub fn finish(self) -> Frame {
        let columns = self.names.into_iter().zip(self.dictionaries).map(|(n, d)| Column::new(n, d.levels)).collect();
        Frame::from_parts(columns, self.rows, self.codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packed_levels_differ_by_bytes_and_length() {
        assert_eq!(pack(b"a"), pack(b"a"));
        assert_ne!(pack(b"a"), pack(b"a\0"));
        assert_ne!(pack(b""), pack(b"\0"));
        assert!(pack(b"1234567").is_some() && pack(b"12345678").is_none());
    }

    #[test]
    fn fixed_dictionaries_find_short_and_long_levels_and_nothing_else() {
        for n in [1, 3, PACKED_MAX, PACKED_MAX + 1] {
            let mut levels: Vec<String> = (0..n).map(|i| format!("{i}")).collect();
            levels.push("a longer level".into());
            levels.push(String::new());
            let d = Dictionary::fixed(&levels).unwrap();
            for (c, l) in levels.iter().enumerate() {
                assert_eq!(d.code(l.as_bytes()), Some(c as u32), "{l} of {n}");
            }
            assert_eq!((d.code(b"x"), d.code(b"a longer levels"), d.code(b" 0")), (None, None, None));
        }
        assert!(Dictionary::fixed(&["a", "b", "a"]).unwrap_err().to_string().contains("\"a\" appears twice"));
    }

    #[test]
    fn a_rejected_row_is_not_added_and_teaches_nothing() {
        let mut b =
            FrameBuilder::new([("a", Dictionary::learned()), ("b", Dictionary::fixed(&["x"]).unwrap())]).unwrap();
        b.push([Some("1"), Some("x")]).unwrap();
        assert_eq!(b.push([Some("2"), Some("y")]), Err(Rejected::Unknown { column: 1 }));
        assert_eq!(b.push([Some("2")]), Err(Rejected::Width { found: 1 }));
        assert_eq!(b.push([Some("2"), None, None]), Err(Rejected::Width { found: 3 }));
        assert_eq!((b.rows(), b.dictionary(0).levels()), (1, &["1".to_string()][..]));
        b.push([Some("3"), None]).unwrap();
        let f = b.finish();
        assert_eq!(f.levels(0), ["1", "3"]);
        assert_eq!(f.codes(), &Codes::U8(vec![0, 0, 1, u8::MAX]));
    }

    #[test]
    fn names_must_be_distinct_and_non_empty() {
        assert!(FrameBuilder::new([("a", Dictionary::learned()), ("a", Dictionary::learned())]).is_err());
        assert!(FrameBuilder::new([("", Dictionary::learned())]).is_err());
        assert!(Frame::from_rows(&["a", "b"], &[["1"]]).unwrap_err().to_string().contains("row 1 has 1 values"));
        let uneven = Frame::from_columns(&[("a", vec!["1", "2"]), ("b", vec!["1"])]).unwrap_err();
        assert!(uneven.to_string().contains("column \"b\" has 1 values"), "{uneven}");
    }

    /// A frame whose first column has `levels` distinct values (and a missing one), the second
    /// two.
    fn with_levels(levels: usize) -> Frame {
        let mut rows: Vec<[String; 2]> = (0..levels).map(|i| [format!("v{i}"), format!("{}", i % 2)]).collect();
        rows.push([String::new(), "0".into()]);
        Frame::from_rows(&["wide", "narrow"], &rows).unwrap()
    }

    #[test]
    fn codes_take_the_narrowest_type_that_also_holds_the_missing_code() {
        for (levels, width) in [(1, 1), (255, 1), (256, 2), (65_535, 2), (65_536, 4)] {
            let f = with_levels(levels);
            let got = match f.codes() {
                Codes::U8(_) => 1,
                Codes::U16(_) => 2,
                Codes::U32(_) => 4,
            };
            assert_eq!(got, width, "{levels} levels");
            assert_eq!(f.levels(0).len(), levels);
            assert_eq!(f.code(levels - 1, 0), Some(levels as u32 - 1));
            assert_eq!(f.value(levels - 1, 0), Some(format!("v{}", levels - 1).as_str()));
            assert_eq!(f.code(levels, 0), None);
            assert_eq!(f.record(levels).collect::<Vec<_>>(), [None, Some(0)]);
            assert_eq!(f.code(1, 1), Some(levels.min(2) as u32 - 1));
            assert!(Codes::for_levels(levels).max_levels() >= levels);
        }
    }

    #[test]
    fn fixed_dictionaries_choose_the_type_up_front() {
        let levels: Vec<String> = (0..300).map(|i| i.to_string()).collect();
        let mut b = FrameBuilder::new([("n", Dictionary::fixed(&levels).unwrap())]).unwrap();
        b.push([Some("299")]).unwrap();
        b.push([None]).unwrap();
        assert_eq!(b.finish().codes(), &Codes::U16(vec![299, u16::MAX]));
    }

    #[test]
    fn selecting_columns_keeps_their_levels_and_codes() {
        let f = Frame::from_rows(&["a", "b", "c"], &[["x", "1", "p"], ["y", "", "q"]]).unwrap();
        let s = f.select(&[2, 1]);
        assert_eq!(s.names().collect::<Vec<_>>(), ["c", "b"]);
        assert_eq!(s.record(1).collect::<Vec<_>>(), [Some(1), None]);
        assert_eq!((s.rows(), s.levels(0)), (2, &["p".to_string(), "q".to_string()][..]));
    }

    #[test]
    fn sorting_levels_renumbers_one_column() {
        let mut f = Frame::from_rows(&["a", "b"], &[["z", "z"], ["", "y"], ["m", "z"], ["a", "x"]]).unwrap();
        f.sort_levels(0);
        assert_eq!(f.levels(0), ["a", "m", "z"]);
        assert_eq!(f.column_codes(0).collect::<Vec<_>>(), [Some(2), None, Some(1), Some(0)]);
        assert_eq!(f.levels(1), ["z", "y", "x"]);
        assert_eq!(f.column_codes(1).collect::<Vec<_>>(), [Some(0), Some(1), Some(0), Some(2)]);
    }

    /// Columns of values drawn from a few short and long strings, some missing.
    fn columns() -> impl Strategy<Value = Vec<Vec<Option<String>>>> {
        let value = prop::option::weighted(
            0.8,
            prop::sample::select(vec!["a", "b", "a b", "", " ", "é", "a much longer value", "12345678"])
                .prop_map(str::to_string),
        );
        (1usize..5, 0usize..40).prop_flat_map(move |(width, rows)| {
            prop::collection::vec(prop::collection::vec(value.clone(), rows), width)
        })
    }

    proptest! {
        #[test]
        fn values_round_trip_through_codes(columns in columns()) {
            let named: Vec<(String, Vec<Option<String>>)> =
                columns.iter().enumerate().map(|(i, c)| (format!("c{i}"), c.clone())).collect();
            let by_columns = Frame::from_columns(&named).unwrap();
            let rows: Vec<Vec<Option<String>>> =
                (0..columns[0].len()).map(|r| columns.iter().map(|c| c[r].clone()).collect()).collect();
            let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
            let by_rows = Frame::from_rows(&names, &rows).unwrap();
            prop_assert_eq!(&by_columns, &by_rows);
            prop_assert_eq!(by_rows.rows(), rows.len());
            prop_assert_eq!(by_rows.names().collect::<Vec<_>>(), names.clone());
            for (r, row) in rows.iter().enumerate() {
                for (c, value) in row.iter().enumerate() {
                    let expected = value.as_deref().filter(|v| !v.is_empty());
                    prop_assert_eq!(by_rows.value(r, c), expected);
                }
            }
            for c in 0..columns.len() {
                let levels = by_rows.levels(c);
                // levels are distinct, in order of first appearance, and none is empty
                let mut first: Vec<&str> = Vec::new();
                for v in columns[c].iter().flatten().filter(|v| !v.is_empty()) {
                    if !first.contains(&v.as_str()) {
                        first.push(v);
                    }
                }
                prop_assert_eq!(levels, &first[..]);
                prop_assert_eq!(by_rows.column(names[c]), Some(c));
                let mut sorted = by_rows.clone();
                sorted.sort_levels(c);
                for r in 0..rows.len() {
                    prop_assert_eq!(sorted.value(r, c), by_rows.value(r, c));
                }
            }
        }

        #[test]
        fn widening_keeps_every_code(split in 0usize..600, total in 250usize..700) {
            // a learned column that crosses 255 levels part-way, next to a column with missing values
            let rows: Vec<[String; 2]> = (0..total)
                .map(|i| [format!("{}", if i < split { i % 7 } else { i }), if i % 3 == 0 { String::new() } else { "y".into() }])
                .collect();
            let f = Frame::from_rows(&["n", "m"], &rows).unwrap();
            for (r, row) in rows.iter().enumerate() {
                prop_assert_eq!(f.value(r, 0), Some(row[0].as_str()));
                prop_assert_eq!(f.code(r, 1), (r % 3 != 0).then_some(0));
            }
        }
    }
}
