//! Connections shared by concurrent one-statement reads on the API's hot path (the
//! `quick_read` and `quick_snapshot` methods: a listing's page, a key, instance or copy lookup).
//!
//! A pooled connection serves one caller at a time, so between two statements its backend
//! sleeps while xbak reads the answer and the next caller takes the connection. A
//! `tokio_postgres` client may be used by many tasks at once and pipelines what they send (each
//! statement with its own `Sync`, so its own implicit transaction and its own error): the
//! backend finds the next statement already waiting and reads several per wake-up, and xbak
//! reads several answers per `recv`. On two cores this served 14–19 % more uncached listings a
//! second than four pooled connections, at 15–20 % less CPU per call (bench/results.md,
//! 2026-12-07T10:15Z). Statements that need a transaction or session state stay on the pool.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tokio::sync::Mutex;

use super::errors::translate_pool;
use crate::Result;

/// One shared connection (made on first use and again after it closed) and how many
/// statements are waiting on it.
struct Slot {
    client: Mutex<Option<Arc<Object>>>,
    in_flight: AtomicUsize,
}

/// A few connections of their own pool, each shared by every statement routed to it.
pub(super) struct Readers {
    pool: Pool,
    slots: Vec<Slot>,
}

/// A shared connection, lent to one statement; counted in flight on it until dropped.
pub(super) struct Reader<'a> {
    client: Arc<Object>,
    _in_flight: InFlight<'a>,
}

impl Deref for Reader<'_> {
    type Target = Object;

    fn deref(&self) -> &Object {
        &self.client
    }
}

/// One statement counted in flight on a slot until dropped, also when the caller gives up
/// while it waits for the connection.
struct InFlight<'a>(&'a Slot);

impl<'a> InFlight<'a> {
    fn enter(slot: &'a Slot) -> InFlight<'a> {
        slot.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(slot)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Readers {
    /// As many shared connections as `pool` holds at most.
    pub(super) fn new(pool: Pool) -> Readers {
        let slots = (0..pool.status().max_size)
            .map(|_| Slot {
                client: Mutex::new(None),
                in_flight: AtomicUsize::new(0),
            })
            .collect();
        Readers { pool, slots }
    }

    /// The shared connection with the fewest statements in flight (so that a backend the
    /// scheduler has paused holds up no more than its share), made again if it closed.
    pub(super) async fn get(&self) -> Result<Reader<'_>> {
        let slot = self
            .slots
            .iter()
            .min_by_key(|s| s.in_flight.load(Ordering::Relaxed))
            .expect("a pool of at least one connection");
        let in_flight = InFlight::enter(slot);
        let client = self.client_of(slot).await?;
        Ok(Reader {
            client,
            _in_flight: in_flight,
        })
    }

    async fn client_of(&self, slot: &Slot) -> Result<Arc<Object>> {
        let mut held = slot.client.lock().await;
        if let Some(client) = held.as_ref().filter(|c| !c.is_closed()) {
            return Ok(Arc::clone(client));
        }
        // A closed connection goes back to the pool, which discards it, once the statements
        // still holding it have failed; the pool waits for that before it makes another.
        *held = None;
        let client = Arc::new(self.pool.get().await.map_err(translate_pool)?);
        *held = Some(Arc::clone(&client));
        Ok(client)
    }
}
