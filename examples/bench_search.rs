//! The search benchmark behind `scripts/bench-search`: an archive of COPIES transcripts
//! made from the real transcripts of a base archive (each copy with its own dates,
//! speaker names and about one word in seven swapped for another word of the
//! vocabulary), indexed through the library API; then word, phrase, prefix, fuzzy and
//! filtered queries timed, side by side with SQLite FTS5 (rusqlite's bundled SQLite)
//! over the same segments and a plain scan of the texts in memory.
//!
//! `cargo run --release --example bench_search -- BASE_ARCHIVE WORK_DIR [COPIES] [QUERIES]`

use chrono::{DateTime, Duration, Utc};
use rusqlite::Connection;
use spacescribe::archive::{self, Archive, SearchQuery, Status};
use spacescribe::{Result, Transcript};
use std::path::{Path, PathBuf};
use std::time::Instant;

const NAMES: [&str; 24] = [
    "Ada Byrne",
    "Bola Adeyemi",
    "Chen Wei",
    "Dana Novak",
    "Eamon Price",
    "Farah Haddad",
    "Gita Rao",
    "Hugo Lindqvist",
    "Ines Duarte",
    "Jonas Berg",
    "Kiri Walker",
    "Lena Fischer",
    "Mateo Ruiz",
    "Nadia Petrova",
    "Omar Said",
    "Priya Menon",
    "Quinn Doyle",
    "Rosa Marin",
    "Sami Korhonen",
    "Tara Singh",
    "Uma Costa",
    "Viktor Hale",
    "Wen Liu",
    "Yara Nasser",
];

/// A small deterministic generator (the same archive every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_search BASE_ARCHIVE WORK_DIR [COPIES] [QUERIES]";
    let base = PathBuf::from(args.get(1).expect(usage));
    let work = PathBuf::from(args.get(2).expect(usage));
    let copies: usize = args.get(3).map_or(1200, |n| n.parse().expect(usage));
    let queries: usize = args.get(4).map_or(200, |n| n.parse().expect(usage));

    let bases = base_transcripts(&base)?;
    let vocabulary = vocabulary(&bases);
    let _ = std::fs::remove_dir_all(&work);
    let archive = Archive::open(&work.join("archive"))?;
    let mut rng = Lcg(7);
    let mut segments = Vec::new();
    let mut json_bytes = 0u64;
    for k in 0..copies {
        let copy = vary(&bases[k % bases.len()], k, &vocabulary, &mut rng);
        json_bytes += write_copy(&archive, &copy, k)?;
        segments.extend(copy.segments.iter().map(|s| {
            Row {
                text: s.text.clone(),
                speaker: s
                    .speaker
                    .as_deref()
                    .map(|id| copy.speaker_name(id).to_string()),
                at: s.wall_clock.as_deref().map(millis).unwrap_or(0),
            }
        }));
    }
    eprintln!(
        "bench-search: {copies} transcripts from {} real ones, {} segments, {:.1} MB of JSON",
        bases.len(),
        segments.len(),
        json_bytes as f64 / 1e6
    );

    let started = Instant::now();
    let report = archive::update_index(&archive, false)?;
    let index_seconds = started.elapsed().as_secs_f64();
    assert_eq!(report.indexed, copies);
    let index_mb = folder_bytes(&archive.dir().join("index")) as f64 / 1e6;

    let db_path = work.join("fts5.sqlite");
    let started = Instant::now();
    let db = fts5_build(&db_path, &segments);
    let fts_seconds = started.elapsed().as_secs_f64();
    let fts_mb = std::fs::metadata(&db_path).map_or(0, |m| m.len()) as f64 / 1e6;

    let set = QuerySet::draw(&segments, &vocabulary, queries, &mut Lcg(11));
    println!("| | spacescribe (tantivy) | SQLite FTS5 | scan in memory |");
    println!("|---|---:|---:|---:|");
    println!("| index time, s | {index_seconds:.2} | {fts_seconds:.2} | - |");
    println!(
        "| index size, MB | {index_mb:.1} | {fts_mb:.1} | {:.1} (the JSON) |",
        json_bytes as f64 / 1e6
    );
    for (kind, queries) in set.kinds() {
        let ours = latencies(queries, |q| {
            let found = archive::search(&archive, &q.to_query())?;
            Ok(found.total)
        })?;
        let fts = match q_kind_in_fts(kind) {
            true => Some(latencies(queries, |q| Ok(fts5_search(&db, q)))?),
            false => None,
        };
        let scan = latencies(queries, |q| Ok(scan(&segments, q)))?;
        println!(
            "| {kind} query, median / p99 ms | {} | {} | {} |",
            show(&ours),
            fts.as_ref().map_or("no fuzzy terms".into(), show),
            show(&scan)
        );
        if let Some(fts) = &fts {
            eprintln!(
                "bench-search: {kind}: FTS5 / spacescribe median = {:.2}x",
                fts.0 / ours.0
            );
        }
    }
    Ok(())
}

fn q_kind_in_fts(kind: &str) -> bool {
    kind != "fuzzy"
}

/// The done transcripts of an archive.
fn base_transcripts(base: &Path) -> Result<Vec<Transcript>> {
    let archive = Archive::open(base)?;
    let mut found = Vec::new();
    for entry in archive.manifest().entries()? {
        if entry.status == Status::Done {
            found.push(Transcript::read_json(&archive.transcript_path(&entry))?);
        }
    }
    assert!(!found.is_empty(), "no transcripts in {}", base.display());
    Ok(found)
}

fn vocabulary(bases: &[Transcript]) -> Vec<String> {
    let mut words: Vec<String> = bases
        .iter()
        .flat_map(|t| t.words().map(|w| w.word.clone()))
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Copy `k` of a transcript: its own day and hour, its own speaker names, about one
/// word in seven swapped.
fn vary(base: &Transcript, k: usize, vocabulary: &[String], rng: &mut Lcg) -> Transcript {
    let mut copy = base.clone();
    let day0: DateTime<Utc> = "2024-01-01T00:00:00Z".parse().unwrap();
    let start = day0 + Duration::hours(7 * k as i64);
    let clock = |seconds: f64| {
        spacescribe::transcript::rfc3339_millis(
            start + Duration::milliseconds((seconds * 1000.0) as i64),
        )
    };
    copy.source.wall_clock_start = Some(clock(0.0));
    copy.source.path = format!("copies/{k}/{}", base.source.path);
    for (i, speaker) in copy.speakers.iter_mut().enumerate() {
        speaker.name = NAMES[(k * 5 + i * 7) % NAMES.len()].to_string();
    }
    for segment in &mut copy.segments {
        segment.wall_clock = Some(clock(segment.start));
        for word in &mut segment.words {
            if rng.below(7) == 0 {
                word.word = vocabulary[rng.below(vocabulary.len())].clone();
            }
            word.wall_clock = Some(clock(word.start));
        }
        let words: Vec<&str> = segment.words.iter().map(|w| w.word.as_str()).collect();
        segment.text = words.join(" ");
    }
    copy
}

/// Writes copy `k` where a batch would and records it done; returns its JSON's size.
fn write_copy(archive: &Archive, copy: &Transcript, k: usize) -> Result<u64> {
    let id = format!("{:064x}", 0xbe7c_0000_0000u64 + k as u64);
    let name = format!("copy{k}");
    let folder = archive
        .dir()
        .join("recordings")
        .join(format!("{}-{name}", &id[..12]));
    std::fs::create_dir_all(&folder).unwrap();
    let json = serde_json::to_vec(copy).unwrap();
    std::fs::write(folder.join(format!("{name}.json")), &json).unwrap();
    let manifest = archive.manifest();
    manifest.enqueue(&id, &name, Path::new(&copy.source.path), &folder)?;
    manifest.start(&id, "bench", "bench", "{}")?;
    manifest.finish(&id, copy.source.duration, 0.0)?;
    Ok(json.len() as u64)
}

fn millis(clock: &str) -> i64 {
    DateTime::parse_from_rfc3339(clock).map_or(0, |t| t.timestamp_millis())
}

fn folder_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// One segment, as the peers see it.
struct Row {
    text: String,
    speaker: Option<String>,
    at: i64,
}

#[derive(Clone)]
enum Kind {
    Word(String),
    Phrase(Vec<String>),
    Prefix(String),
    Fuzzy(String),
    /// A word said by one speaker within three months.
    Filtered(String, String, i64),
}

struct Q(Kind);

const QUARTER_MS: i64 = 91 * 24 * 3600 * 1000;

impl Q {
    fn to_query(&self) -> SearchQuery {
        match &self.0 {
            Kind::Word(w) => SearchQuery::new(w.as_str()),
            Kind::Phrase(ws) => SearchQuery::new(format!("\"{}\"", ws.join(" "))),
            Kind::Prefix(p) => SearchQuery::new(format!("{p}*")),
            Kind::Fuzzy(w) => SearchQuery::new(format!("{w}~")),
            Kind::Filtered(w, speaker, from) => SearchQuery::new(w.as_str())
                .speaker(speaker.as_str())
                .after(DateTime::from_timestamp_millis(*from).unwrap())
                .before(DateTime::from_timestamp_millis(from + QUARTER_MS).unwrap()),
        }
    }
}

struct QuerySet {
    word: Vec<Q>,
    phrase: Vec<Q>,
    prefix: Vec<Q>,
    fuzzy: Vec<Q>,
    filtered: Vec<Q>,
}

impl QuerySet {
    /// Queries drawn from the segments' own words, so most find something.
    fn draw(rows: &[Row], vocabulary: &[String], n: usize, rng: &mut Lcg) -> QuerySet {
        let plain = |w: &str| -> String {
            w.chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        };
        let mut word = || loop {
            let w = plain(&vocabulary[rng.below(vocabulary.len())]);
            if w.len() >= 4 {
                return w;
            }
        };
        let words: Vec<String> = (0..n * 4).map(|_| word()).collect();
        let mut set = QuerySet {
            word: words[..n]
                .iter()
                .map(|w| Q(Kind::Word(w.clone())))
                .collect(),
            prefix: words[n..2 * n]
                .iter()
                .map(|w| Q(Kind::Prefix(w[..4].to_string())))
                .collect(),
            fuzzy: words[2 * n..3 * n]
                .iter()
                .map(|w| {
                    let mut c: Vec<char> = w.chars().collect();
                    c.swap(1, 2);
                    Q(Kind::Fuzzy(c.into_iter().collect()))
                })
                .collect(),
            phrase: Vec::new(),
            filtered: Vec::new(),
        };
        let day0 = millis("2024-01-01T00:00:00Z");
        for w in &words[3 * n..] {
            let speaker = NAMES[rng.below(NAMES.len())].to_string();
            let from = day0 + (rng.below(270) as i64) * 24 * 3600 * 1000;
            set.filtered
                .push(Q(Kind::Filtered(w.clone(), speaker, from)));
        }
        while set.phrase.len() < n {
            let row = &rows[rng.below(rows.len())];
            let ws: Vec<String> = row
                .text
                .split(' ')
                .map(plain)
                .filter(|w| !w.is_empty())
                .collect();
            if ws.len() >= 3 {
                let at = rng.below(ws.len() - 1);
                set.phrase.push(Q(Kind::Phrase(ws[at..at + 2].to_vec())));
            }
        }
        set
    }

    fn kinds(&self) -> [(&'static str, &[Q]); 5] {
        [
            ("word", &self.word),
            ("phrase", &self.phrase),
            ("prefix", &self.prefix),
            ("fuzzy", &self.fuzzy),
            ("filtered (speaker + 3 months)", &self.filtered),
        ]
    }
}

fn fts5_build(path: &Path, rows: &[Row]) -> Connection {
    let mut db = Connection::open(path).unwrap();
    db.execute_batch(
        "CREATE VIRTUAL TABLE seg USING fts5(text, speaker UNINDEXED, at UNINDEXED,
         tokenize = 'unicode61 remove_diacritics 2');",
    )
    .unwrap();
    let tx = db.transaction().unwrap();
    {
        let mut insert = tx.prepare("INSERT INTO seg VALUES (?1, ?2, ?3)").unwrap();
        for row in rows {
            insert
                .execute(rusqlite::params![row.text, row.speaker, row.at])
                .unwrap();
        }
    }
    tx.commit().unwrap();
    db
}

/// The FTS5 form of a query: ranked (bm25), the top ten and the count, as ours gives.
fn fts5_search(db: &Connection, q: &Q) -> usize {
    let (matching, filter) = match &q.0 {
        Kind::Word(w) => (format!("\"{w}\""), None),
        Kind::Phrase(ws) => (format!("\"{}\"", ws.join(" ")), None),
        Kind::Prefix(p) => (format!("\"{p}\"*"), None),
        Kind::Filtered(w, s, from) => (format!("\"{w}\""), Some((s.clone(), *from))),
        Kind::Fuzzy(_) => unreachable!("FTS5 has no fuzzy terms"),
    };
    let (speaker, from) = filter.unwrap_or_default();
    let filtered = !speaker.is_empty();
    let sql = "SELECT rowid FROM seg WHERE seg MATCH ?1 AND (?2 = 0 OR (speaker = ?3 AND at >= ?4 AND at < ?5)) ORDER BY rank LIMIT 10";
    let mut top = db.prepare_cached(sql).unwrap();
    let hits: Vec<i64> = top
        .query_map(
            rusqlite::params![matching, filtered, speaker, from, from + QUARTER_MS],
            |r| r.get(0),
        )
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    let count_sql = "SELECT count(*) FROM seg WHERE seg MATCH ?1 AND (?2 = 0 OR (speaker = ?3 AND at >= ?4 AND at < ?5))";
    let mut count = db.prepare_cached(count_sql).unwrap();
    let total: i64 = count
        .query_row(
            rusqlite::params![matching, filtered, speaker, from, from + QUARTER_MS],
            |r| r.get(0),
        )
        .unwrap();
    hits.len().max(total as usize)
}

/// What a search without an index does: every segment's text looked through.
fn scan(rows: &[Row], q: &Q) -> usize {
    let needle = match &q.0 {
        Kind::Word(w) | Kind::Prefix(w) | Kind::Fuzzy(w) | Kind::Filtered(w, _, _) => w.clone(),
        Kind::Phrase(ws) => ws.join(" "),
    };
    rows.iter()
        .filter(|r| match &q.0 {
            Kind::Filtered(_, s, from) => {
                r.speaker.as_deref() == Some(s.as_str())
                    && r.at >= *from
                    && r.at < from + QUARTER_MS
            }
            _ => true,
        })
        .filter(|r| r.text.to_lowercase().contains(&needle))
        .count()
}

/// Median and 99th percentile of each query's time, in milliseconds.
fn latencies(queries: &[Q], mut run: impl FnMut(&Q) -> Result<usize>) -> Result<(f64, f64)> {
    let mut times = Vec::with_capacity(queries.len());
    for q in queries {
        let started = Instant::now();
        std::hint::black_box(run(q)?);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    Ok((at(0.5), at(0.99)))
}

fn show(times: &(f64, f64)) -> String {
    format!("{:.2} / {:.2}", times.0, times.1)
}
