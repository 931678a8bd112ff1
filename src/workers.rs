//! Work queues for engines that are not shareable: each worker thread owns one state
//! (a Whisper state, a VAD context, a decoder) and works through items with it.
//!
//! Used by decoding, speech detection and transcription; rayon's pool would hand items
//! to any thread, but these states must stay with the thread that uses them.

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

/// Runs `work(state, i)` for every `i` in `0..items`, worker `k` taking items `k`,
/// `k + n`, `k + 2n`, … (one worker per state), while this thread hands each result to
/// `consume` in index order as soon as it is ready. A worker runs at most `ahead` items
/// beyond what was consumed, so only a few results ever wait. The first error of
/// `consume`, or a worker that crashed, stops the run and is returned; `crashed` names it.
pub fn run_ordered<S: Send, T: Send>(
    states: Vec<S>,
    items: usize,
    ahead: usize,
    work: impl Fn(&mut S, usize) -> T + Sync,
    mut consume: impl FnMut(T) -> Result<()>,
    crashed: impl Fn() -> Error,
) -> Result<()> {
    let lanes = states.len().max(1);
    std::thread::scope(|scope| {
        let (receivers, workers): (Vec<_>, Vec<_>) = states
            .into_iter()
            .enumerate()
            .map(|(k, mut state)| {
                let (tx, rx) = std::sync::mpsc::sync_channel(ahead.max(1));
                let work = &work;
                let worker = scope.spawn(move || {
                    for i in (k..items).step_by(lanes) {
                        if tx.send(work(&mut state, i)).is_err() {
                            return;
                        }
                    }
                });
                (rx, worker)
            })
            .unzip();
        let consumed = (0..items)
            .try_for_each(|i| consume(receivers[i % lanes].recv().map_err(|_| crashed())?));
        // Dropping the receivers stops the workers at their next item; joining them here
        // turns a crashed worker into an error rather than a crash of the whole scope.
        drop(receivers);
        let all_joined = workers.into_iter().all(|w| w.join().is_ok());
        consumed.and(if all_joined { Ok(()) } else { Err(crashed()) })
    })
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

    #[test]
    fn ordered_results_arrive_in_order_and_errors_stop_the_run() {
        let crashed = || Error::Usage("crashed".into());
        let mut seen = Vec::new();
        let keep = |v| {
            seen.push(v);
            Ok(())
        };
        run_ordered(vec![0; 3], 20, 2, |_, i| i * 10, keep, crashed).unwrap();
        assert_eq!(seen, (0..20).map(|i| i * 10).collect::<Vec<_>>());
        let stop = |v: usize| {
            if v == 7 {
                Err(Error::Usage("seven".into()))
            } else {
                Ok(())
            }
        };
        let err = run_ordered(vec![(); 2], 1000, 2, |_, i| i, stop, crashed).unwrap_err();
        assert_eq!(err.to_string(), "seven");
        let panics = |_: &mut (), i: usize| if i == 3 { panic!("lane down") } else { i };
        let err = run_ordered(vec![(); 2], 10, 2, panics, |_| Ok(()), crashed).unwrap_err();
        assert_eq!(err.to_string(), "crashed");
    }
}
