//! The archive's full-text index (tantivy): one document per transcript segment, with
//! its recording, speaker, times and words (each word's byte offset and times kept, so
//! a hit is timed to the word), and one per recording, with the digest of the JSON it
//! was read from, so `spacescribe index` redoes only what changed.
//!
//! ```text
//! ARCHIVE/index/                    the index `search` reads (`spacescribe index`)
//! ARCHIVE/index-shards/<I>-of-<N>/  what shard I of a sharded batch indexed, until
//!                                   `spacescribe index --merge` moves it over
//! ```
//!
//! Only one process writes an index at a time (tantivy's lock): a batch writes its
//! shard's own, so array tasks never wait on each other.

use super::{Archive, Entry, Shard, Status};
use crate::error::{Error, Result};
use crate::transcript::Transcript;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, TermQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing,
    TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, IndexWriter, TantivyDocument, Term};

/// The tokenizer of the text and of queries: words split at anything not a letter or
/// digit, lower-cased, accents folded ("Zoë" finds "zoe"), no stemming (a search finds
/// the words as said; prefix and fuzzy terms widen it).
pub(crate) const TOKENIZER: &str = "spoken";

/// Bytes the writer may buffer before it flushes a segment.
const WRITER_HEAP: usize = 50_000_000;

pub(crate) fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The index's fields.
#[derive(Clone, Copy)]
pub(crate) struct Fields {
    /// "segment" or "recording".
    pub(crate) kind: Field,
    /// The recording's content hash (the manifest's id).
    pub(crate) recording: Field,
    pub(crate) name: Field,
    /// The path the recording was given as.
    pub(crate) source: Field,
    /// The transcript JSON, relative to the archive.
    pub(crate) transcript: Field,
    pub(crate) title: Field,
    /// UTC start of the recording (RFC 3339), when its clock is known.
    pub(crate) recorded: Field,
    /// SHA-256 of the transcript JSON indexed (recording documents).
    pub(crate) digest: Field,
    pub(crate) speaker: Field,
    pub(crate) speaker_id: Field,
    /// Lower-cased name and id, for `--speaker`.
    pub(crate) speaker_key: Field,
    pub(crate) start: Field,
    pub(crate) end: Field,
    pub(crate) wall_clock: Field,
    /// Milliseconds since 1970 (UTC) at the segment's start, for `--after`/`--before`.
    pub(crate) at: Field,
    pub(crate) text: Field,
    /// JSON `[[byte offset in text, start, end, probability], ...]`, one per word.
    pub(crate) words: Field,
}

/// Every field is stored, even those only searched by: merging a shard's index copies
/// its stored documents.
fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_stored().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        kind: builder.add_text_field("kind", STRING | STORED),
        recording: builder.add_text_field("recording", STRING | STORED),
        name: builder.add_text_field("name", STORED),
        source: builder.add_text_field("source", STORED),
        transcript: builder.add_text_field("transcript", STORED),
        title: builder.add_text_field("title", STORED),
        recorded: builder.add_text_field("recorded", STORED),
        digest: builder.add_text_field("digest", STORED),
        speaker: builder.add_text_field("speaker", STORED),
        speaker_id: builder.add_text_field("speaker_id", STORED),
        speaker_key: builder.add_text_field("speaker_key", STRING | STORED),
        start: builder.add_f64_field("start", STORED),
        end: builder.add_f64_field("end", STORED),
        wall_clock: builder.add_text_field("wall_clock", STORED),
        at: builder.add_i64_field("at", INDEXED | FAST | STORED),
        text: builder.add_text_field("text", text),
        words: builder.add_text_field("words", STORED),
    };
    (builder.build(), fields)
}

/// A tantivy index of transcript segments in one folder.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    fields: Fields,
}

impl SearchIndex {
    /// The archive's index (`ARCHIVE/index`), created empty if new.
    pub fn open(archive: &Archive) -> Result<SearchIndex> {
        SearchIndex::open_in(&archive.dir().join("index"))
    }

    /// The index a shard of a batch writes (`ARCHIVE/index-shards/<I>-of-<N>`).
    pub fn for_shard(archive: &Archive, shard: Shard) -> Result<SearchIndex> {
        let name = format!("{}-of-{}", shard.index, shard.count);
        SearchIndex::open_in(&shards_dir(archive).join(name))
    }

    fn open_in(dir: &Path) -> Result<SearchIndex> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        let (schema, fields) = schema();
        let index = if dir.join("meta.json").is_file() {
            let index = Index::open_in_dir(dir).map_err(|e| index_error(dir, e))?;
            if index.schema() != schema {
                return Err(Error::stage(
                    dir,
                    "search index",
                    "made by another version of spacescribe; delete the folder and run `spacescribe index` again",
                ));
            }
            index
        } else {
            Index::create_in_dir(dir, schema).map_err(|e| index_error(dir, e))?
        };
        index.tokenizers().register(TOKENIZER, analyzer());
        Ok(SearchIndex {
            dir: dir.to_path_buf(),
            index,
            fields,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn fields(&self) -> Fields {
        self.fields
    }

    /// A writer, holding the index's lock until dropped.
    pub fn writer(&self) -> Result<IndexUpdater<'_>> {
        let writer = self
            .index
            .writer_with_num_threads(1, WRITER_HEAP)
            .map_err(|e| match e {
                tantivy::TantivyError::LockFailure(..) => Error::stage(
                    &self.dir,
                    "search index",
                    "another spacescribe is writing this index; run `spacescribe index` when it is done",
                ),
                e => index_error(&self.dir, e),
            })?;
        Ok(IndexUpdater {
            index: self,
            writer,
        })
    }

    /// Every stored document (for merging one index into another).
    fn documents(&self) -> Result<Vec<TantivyDocument>> {
        self.all_matching(&AllQuery)
    }

    /// Every stored document `query` matches.
    fn all_matching(&self, query: &dyn tantivy::query::Query) -> Result<Vec<TantivyDocument>> {
        let searcher = self.searcher()?;
        let count = (searcher.num_docs() as usize).max(1);
        let hits = searcher
            .search(query, &TopDocs::with_limit(count).order_by_score())
            .map_err(|e| index_error(&self.dir, e))?;
        hits.into_iter()
            .map(|(_, address)| searcher.doc(address).map_err(|e| index_error(&self.dir, e)))
            .collect()
    }

    pub(crate) fn searcher(&self) -> Result<tantivy::Searcher> {
        let reader = self
            .index
            .reader_builder()
            .reload_policy(tantivy::ReloadPolicy::Manual)
            .try_into()
            .map_err(|e| index_error(&self.dir, e))?;
        Ok(reader.searcher())
    }

    /// Recording id -> digest of the transcript JSON indexed for it.
    fn indexed_digests(&self) -> Result<HashMap<String, String>> {
        let query = TermQuery::new(
            Term::from_field_text(self.fields.kind, "recording"),
            IndexRecordOption::Basic,
        );
        let text =
            |doc: &TantivyDocument, field| stored_str(doc, field).unwrap_or_default().to_string();
        Ok(self
            .all_matching(&query)?
            .iter()
            .map(|doc| {
                (
                    text(doc, self.fields.recording),
                    text(doc, self.fields.digest),
                )
            })
            .collect())
    }
}

/// Where the shards' own indexes are.
fn shards_dir(archive: &Archive) -> PathBuf {
    archive.dir().join("index-shards")
}

pub(crate) fn stored_str(doc: &TantivyDocument, field: Field) -> Option<&str> {
    doc.get_first(field).and_then(|v| v.as_str())
}

pub(crate) fn index_error(dir: &Path, e: tantivy::TantivyError) -> Error {
    Error::stage(dir, "search index", e.to_string())
}

/// Adds and removes recordings; nothing is seen by searches until [`commit`](Self::commit).
pub struct IndexUpdater<'a> {
    index: &'a SearchIndex,
    writer: IndexWriter,
}

impl IndexUpdater<'_> {
    /// Puts one finished recording in the index (replacing what it had of it): its
    /// transcript, read from `transcript` (relative to `archive`).
    pub fn put(&mut self, archive: &Archive, entry: &Entry) -> Result<usize> {
        let path = archive.transcript_path(entry);
        let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let transcript: Transcript = serde_json::from_slice(&bytes)
            .map_err(|e| Error::input(&path, format!("not a spacescribe transcript: {e}")))?;
        let relative = path.strip_prefix(archive.dir()).unwrap_or(&path);
        let recording = RecordingDoc {
            entry,
            transcript: &transcript,
            path: &relative.to_string_lossy(),
            digest: &hex::encode(Sha256::digest(&bytes)),
        };
        self.remove(&entry.id);
        let docs = recording.documents(&self.index.fields);
        let segments = docs.len() - 1;
        for doc in docs {
            self.add_document(doc)?;
        }
        Ok(segments)
    }

    /// Takes everything of recording `id` out.
    pub fn remove(&mut self, id: &str) {
        let term = Term::from_field_text(self.index.fields.recording, id);
        self.writer.delete_term(term);
    }

    fn add_document(&mut self, doc: TantivyDocument) -> Result<()> {
        self.writer
            .add_document(doc)
            .map_err(|e| index_error(&self.index.dir, e))?;
        Ok(())
    }

    /// Makes the changes durable and visible to searches.
    pub fn commit(&mut self) -> Result<()> {
        self.writer
            .commit()
            .map_err(|e| index_error(&self.index.dir, e))?;
        Ok(())
    }
}

/// One recording's documents.
struct RecordingDoc<'a> {
    entry: &'a Entry,
    transcript: &'a Transcript,
    path: &'a str,
    digest: &'a str,
}

impl RecordingDoc<'_> {
    fn documents(&self, fields: &Fields) -> Vec<TantivyDocument> {
        let mut recording = self.common(fields, "recording");
        recording.add_text(fields.digest, self.digest);
        let mut docs = vec![recording];
        for segment in &self.transcript.segments {
            if segment.words.is_empty() {
                continue;
            }
            let mut doc = self.common(fields, "segment");
            let mut text = String::new();
            let mut words = Vec::with_capacity(segment.words.len());
            for word in &segment.words {
                if !text.is_empty() {
                    text.push(' ');
                }
                words.push((text.len(), word.start, word.end, word.probability));
                text.push_str(&word.word);
            }
            doc.add_text(fields.text, &text);
            doc.add_text(
                fields.words,
                serde_json::to_string(&words).unwrap_or_default(),
            );
            if let Some(id) = &segment.speaker {
                let name = self.transcript.speaker_name(id);
                doc.add_text(fields.speaker, name);
                doc.add_text(fields.speaker_id, id);
                doc.add_text(fields.speaker_key, name.to_lowercase());
                doc.add_text(fields.speaker_key, id.to_lowercase());
            }
            doc.add_f64(fields.start, segment.start);
            doc.add_f64(fields.end, segment.end);
            if let Some(clock) = &segment.wall_clock {
                doc.add_text(fields.wall_clock, clock);
                if let Ok(utc) = chrono::DateTime::parse_from_rfc3339(clock) {
                    doc.add_i64(fields.at, utc.timestamp_millis());
                }
            }
            docs.push(doc);
        }
        docs
    }

    /// The fields every document of the recording has.
    fn common(&self, fields: &Fields, kind: &str) -> TantivyDocument {
        let mut doc = TantivyDocument::default();
        doc.add_text(fields.kind, kind);
        doc.add_text(fields.recording, &self.entry.id);
        doc.add_text(fields.name, &self.entry.name);
        doc.add_text(fields.source, self.transcript.source.path.as_str());
        doc.add_text(fields.transcript, self.path);
        let metadata = self.transcript.metadata.as_ref();
        if let Some(title) = metadata.and_then(|m| m.title.as_ref()) {
            doc.add_text(fields.title, title);
        }
        if let Some(start) = &self.transcript.source.wall_clock_start {
            doc.add_text(fields.recorded, start);
        }
        doc
    }
}

/// What `spacescribe index` did.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct IndexReport {
    /// Recordings indexed anew or again (their transcript changed).
    pub indexed: usize,
    /// Segments in those.
    pub segments: usize,
    /// Recordings already indexed from the same transcript.
    pub unchanged: usize,
    /// Recordings taken out (no longer done in the manifest).
    pub removed: usize,
    /// Shard indexes merged in (`--merge`).
    pub merged_shards: usize,
    /// Recordings whose transcript could not be read: their id and why.
    pub failed: Vec<(String, String)>,
}

/// Brings the archive's index up to date with its manifest: every done recording in
/// it from its current transcript, nothing else. With `merge`, the shards' own indexes
/// are moved in first (and their folders removed).
pub fn update_index(archive: &Archive, merge: bool) -> Result<IndexReport> {
    let index = SearchIndex::open(archive)?;
    let mut report = IndexReport::default();
    if merge {
        report.merged_shards = merge_shards(archive, &index)?;
    }
    let indexed = index.indexed_digests()?;
    let mut writer = index.writer()?;
    let mut done = std::collections::HashSet::new();
    for entry in archive.manifest().entries()? {
        if entry.status != Status::Done {
            continue;
        }
        done.insert(entry.id.clone());
        let path = archive.transcript_path(&entry);
        let digest = std::fs::read(&path).map(|bytes| hex::encode(Sha256::digest(&bytes)));
        if let (Ok(digest), Some(known)) = (&digest, indexed.get(&entry.id))
            && digest == known
        {
            report.unchanged += 1;
            continue;
        }
        match writer.put(archive, &entry) {
            Ok(segments) => {
                report.indexed += 1;
                report.segments += segments;
            }
            Err(e) => {
                writer.remove(&entry.id);
                report.failed.push((entry.id.clone(), e.to_string()));
            }
        }
    }
    for id in indexed.keys().filter(|id| !done.contains(*id)) {
        writer.remove(id);
        report.removed += 1;
    }
    writer.commit()?;
    Ok(report)
}

/// Moves every shard index's documents into `index`, then removes the shard folders.
fn merge_shards(archive: &Archive, index: &SearchIndex) -> Result<usize> {
    let dir = shards_dir(archive);
    let shards = unmerged_shards(archive);
    if shards.is_empty() {
        return Ok(0);
    }
    let mut writer = index.writer()?;
    for shard in &shards {
        let documents = SearchIndex::open_in(shard)?.documents()?;
        let fields = index.fields;
        let ids: std::collections::BTreeSet<&str> = documents
            .iter()
            .filter_map(|d| stored_str(d, fields.recording))
            .collect();
        for id in ids {
            writer.remove(id);
        }
        for doc in documents {
            writer.add_document(doc)?;
        }
    }
    writer.commit()?;
    drop(writer);
    for shard in &shards {
        std::fs::remove_dir_all(shard).map_err(|e| Error::io(shard, e))?;
    }
    let _ = std::fs::remove_dir(&dir);
    Ok(shards.len())
}

/// The shard index folders not yet merged.
pub fn unmerged_shards(archive: &Archive) -> Vec<PathBuf> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(shards_dir(archive))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    shards.sort();
    shards
}
