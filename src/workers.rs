//! A work queue for engines that are not shareable: each worker thread owns one state
//! (a Whisper state, a VAD context) and takes the next item until none are left.
//!
//! Used by speech detection and transcription; rayon's pool would hand items to any
//! thread, but these states must stay with the thread that uses them.

use crate::error::{Error, Result};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs `work(state, i)` for every `i` in `0..items`, one thread per state, and returns
/// the results in index order. The first error stops every worker and is returned.
pub fn run_indexed<S: Send, T: Send>(
    states: &mut [S],
    items: usize,
    work: impl Fn(&mut S, usize) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..items).map(|_| None).collect());
    let first_error: Mutex<Option<Error>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for state in states.iter_mut() {
            let (next, results, first_error, work) = (&next, &results, &first_error, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= items || first_error.lock().unwrap().is_some() {
                        return;
                    }
                    match work(state, i) {
                        Ok(done) => results.lock().unwrap()[i] = Some(done),
                        Err(e) => {
                            first_error.lock().unwrap().get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap() {
        return Err(e);
    }
    Ok(results
        .into_inner()
        .unwrap()
        .into_iter()
        .flatten()
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_and_errors_stop_the_run() {
        let mut states = vec![0usize; 3];
        let squares = run_indexed(&mut states, 10, |seen, i| {
            *seen += 1;
            Ok(i * i)
        })
        .unwrap();
        assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(states.iter().sum::<usize>(), 10);
        let failed = run_indexed(&mut states, 10, |_, i| {
            if i == 4 {
                Err(Error::Usage("item 4".into()))
            } else {
                Ok(i)
            }
        });
        assert_eq!(failed.unwrap_err().to_string(), "item 4");
    }
}
