//! Work queues for engines that are not shareable: each worker thread owns one state
//! (a Whisper state, a VAD context, a decoder) and works through items with it.
//!
//! Used by decoding, speech detection and transcription; rayon's pool would hand items
//! to any thread, but these states must stay with the thread that uses them.

use crate::error::{Error, Result};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Runs `work(state, i)` for every `i` in `0..items`, one thread per state, and returns
/// the results in index order ([`run_ordered`] collecting them). The first failure stops
/// every worker at its next item and is returned; a worker that crashed is `crashed()`.
pub(crate) fn run_indexed<S: Send, T: Send>(
    states: &mut [S],
    items: usize,
    work: impl Fn(&mut S, usize) -> Result<T> + Sync,
    crashed: impl Fn() -> Error,
) -> Result<Vec<T>> {
    let failed = AtomicBool::new(false);
    let attempt = |state: &mut &mut S, i: usize| {
        // Items are taken in index order, so every item skipped here comes after the
        // failure, and the failure is what the collecting below meets first.
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let done = work(state, i);
        failed.fetch_or(done.is_err(), Ordering::Relaxed);
        Some(done)
    };
    let mut results = Vec::with_capacity(items);
    let collect = |done: Option<Result<T>>| {
        results.push(done.ok_or_else(&crashed)??);
        Ok(())
    };
    run_ordered(
        states.iter_mut().collect(),
        items,
        items,
        attempt,
        collect,
        &crashed,
    )?;
    Ok(results)
}

/// Runs `work(state, i)` for every `i` in `0..items`, one thread per state, while this
/// thread hands each result to `consume` in index order as soon as it is ready. A free
/// worker takes the lowest item not yet taken, so workers finish together however
/// uneven the items or the cores' other load; at most `ahead` items per worker are
/// taken beyond what was consumed, so only a few results ever wait. The first error of
/// `consume`, or a worker that crashed, stops the run and is returned; `crashed` names it.
pub(crate) fn run_ordered<S: Send, T: Send>(
    states: Vec<S>,
    items: usize,
    ahead: usize,
    work: impl Fn(&mut S, usize) -> T + Sync,
    mut consume: impl FnMut(T) -> Result<()>,
    crashed: impl Fn() -> Error,
) -> Result<()> {
    let queue = OrderedQueue::new(items, ahead.max(1) * states.len().max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = states
            .into_iter()
            .map(|mut state| {
                let (queue, work) = (&queue, &work);
                scope.spawn(move || {
                    let _leaving = queue.worker_guard();
                    while let Some(i) = queue.take() {
                        queue.put(i, work(&mut state, i));
                    }
                })
            })
            .collect();
        let consumed =
            (0..items).try_for_each(|i| consume(queue.wait_for(i).ok_or_else(&crashed)?));
        // Stops the workers at their next item whether or not all was consumed; joining
        // them here turns a crashed worker into an error rather than a crash of the scope.
        queue.stop();
        let joined: Vec<bool> = workers.into_iter().map(|w| w.join().is_ok()).collect();
        let all_joined = joined.into_iter().all(|ok| ok);
        consumed.and(if all_joined { Ok(()) } else { Err(crashed()) })
    })
}

/// The shared state of [`run_ordered`]: which item is next, which results wait.
struct OrderedQueue<T> {
    state: Mutex<QueueState<T>>,
    /// Signalled when an item is consumed or the run stops (workers wait for room).
    room: Condvar,
    /// Signalled when a result is put or a worker leaves (the consumer waits for one).
    ready: Condvar,
    items: usize,
    window: usize,
}

struct QueueState<T> {
    next: usize,
    consumed: usize,
    waiting: BTreeMap<usize, T>,
    stopped: bool,
    crashed: bool,
}

impl<T> OrderedQueue<T> {
    fn new(items: usize, window: usize) -> Self {
        OrderedQueue {
            state: Mutex::new(QueueState {
                next: 0,
                consumed: 0,
                waiting: BTreeMap::new(),
                stopped: false,
                crashed: false,
            }),
            room: Condvar::new(),
            ready: Condvar::new(),
            items,
            window,
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next item to work on, once there is room for its result; `None` when all are
    /// taken or the run stopped.
    fn take(&self) -> Option<usize> {
        let mut s = self.lock();
        while !s.stopped && s.next < self.items && s.next >= s.consumed + self.window {
            s = self.room.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        if s.stopped || s.next >= self.items {
            return None;
        }
        s.next += 1;
        Some(s.next - 1)
    }

    fn put(&self, i: usize, result: T) {
        self.lock().waiting.insert(i, result);
        self.ready.notify_one();
    }

    /// Item `i`'s result, waiting for it; `None` if a worker crashed.
    fn wait_for(&self, i: usize) -> Option<T> {
        let mut s = self.lock();
        loop {
            if let Some(result) = s.waiting.remove(&i) {
                s.consumed = i + 1;
                self.room.notify_all();
                return Some(result);
            }
            if s.crashed {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn stop(&self) {
        self.lock().stopped = true;
        self.room.notify_all();
    }

    /// Marks the run crashed if the worker holding it unwinds (its item would never come).
    fn worker_guard(&self) -> WorkerGuard<'_, T> {
        WorkerGuard(self)
    }
}

struct WorkerGuard<'q, T>(&'q OrderedQueue<T>);

impl<T> Drop for WorkerGuard<'_, T> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut s = self.0.lock();
            s.crashed = true;
            s.stopped = true;
            drop(s);
            self.0.ready.notify_all();
            self.0.room.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_their_order_and_errors_stop_the_run() {
        let mut states = vec![0usize; 3];
        let crashed = || Error::crashed(std::path::Path::new("x"), "test");
        let squares = run_indexed(
            &mut states,
            10,
            |seen, i| {
                *seen += 1;
                Ok(i * i)
            },
            crashed,
        )
        .unwrap();
        assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>());
        assert_eq!(states.iter().sum::<usize>(), 10);
        let failed = run_indexed(
            &mut states,
            10,
            |_, i| {
                if i == 4 {
                    Err(Error::Usage("item 4".into()))
                } else {
                    Ok(i)
                }
            },
            crashed,
        );
        assert_eq!(failed.unwrap_err().to_string(), "item 4");
    }

    #[test]
    fn ordered_results_arrive_in_order_and_errors_stop_the_run() {
        let crashed = || Error::crashed(std::path::Path::new("x"), "test");
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
        assert_eq!(err.kind(), crate::error::ErrorKind::Internal);
    }

    #[test]
    fn a_free_worker_takes_the_next_item() {
        // Item 0 is slow: the other worker does every other item meanwhile, instead of
        // only its half as with items dealt out in turn.
        let mut seen = Vec::new();
        let work = |count: &mut usize, i: usize| {
            if i == 0 {
                std::thread::sleep(std::time::Duration::from_millis(300));
            }
            *count += 1;
            (i, *count)
        };
        let keep = |v| {
            seen.push(v);
            Ok(())
        };
        run_ordered(vec![0usize; 2], 12, 6, work, keep, || {
            Error::crashed(std::path::Path::new("x"), "test")
        })
        .unwrap();
        assert_eq!(
            seen.iter().map(|v| v.0).collect::<Vec<_>>(),
            (0..12).collect::<Vec<_>>()
        );
        assert_eq!(seen[0].1, 1, "the slow item was its worker's first");
        assert_eq!(seen[11].1, 11, "the other worker did all the rest");
    }
}
