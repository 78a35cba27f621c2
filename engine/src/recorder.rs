//! The state writer of an apply: every resource operation's intent and result is committed
//! durably, batched with whatever else is waiting (group commit), before the operation counts
//! as done.

use std::collections::BTreeMap;
use std::sync::Arc;

use kapstan_state::{
    OutputState, ResourceState, StateDelta, StateDocument, StateError, StateStore,
};
use tokio::sync::{mpsc, oneshot};

use crate::events::{Event, EventSink};

/// One change to state.
#[derive(Debug, Clone)]
pub(crate) enum Write {
    Upsert(String, Box<ResourceState>),
    Remove(String),
    Outputs(BTreeMap<String, OutputState>),
}

type Request = (Vec<Write>, oneshot::Sender<Result<u64, String>>);

/// A handle to the writer task; cheap to clone.
#[derive(Clone)]
pub(crate) struct Recorder {
    tx: mpsc::UnboundedSender<Request>,
}

impl Recorder {
    /// Starts the writer over `doc`; the task ends when every handle is dropped and returns the
    /// final document and the first save error.
    pub fn start(
        store: Arc<dyn StateStore>,
        doc: StateDocument,
        events: EventSink,
        reason: String,
    ) -> (
        Self,
        tokio::task::JoinHandle<(StateDocument, Option<StateError>)>,
    ) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, doc, rx, events, reason));
        (Self { tx }, task)
    }

    /// Commits `writes` and waits until they are durable.
    pub async fn write(&self, writes: Vec<Write>) -> Result<u64, String> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send((writes, ack))
            .map_err(|_| "state writer stopped after an earlier save failure".to_string())?;
        done.await
            .map_err(|_| "state writer stopped after an earlier save failure".to_string())?
    }
}

async fn run(
    store: Arc<dyn StateStore>,
    mut doc: StateDocument,
    mut rx: mpsc::UnboundedReceiver<Request>,
    events: EventSink,
    reason: String,
) -> (StateDocument, Option<StateError>) {
    let mut failure: Option<StateError> = None;
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        if let Some(e) = &failure {
            for (_, ack) in batch {
                let _ = ack.send(Err(e.to_string()));
            }
            continue;
        }
        let mut delta = StateDelta::on(&doc, &reason);
        for (writes, _) in &batch {
            for w in writes {
                match w {
                    Write::Upsert(addr, res) => {
                        delta.removals.remove(addr);
                        delta.upserts.insert(addr.clone(), (**res).clone());
                    }
                    Write::Remove(addr) => {
                        delta.upserts.remove(addr);
                        delta.removals.insert(addr.clone());
                    }
                    Write::Outputs(o) => delta.outputs = Some(o.clone()),
                }
            }
        }
        match store.commit(&doc.stack, delta.clone()).await {
            Ok(serial) => {
                doc.apply_delta(&delta);
                debug_assert_eq!(doc.serial, serial);
                events.emit(Event::StateSaved { serial });
                for (_, ack) in batch {
                    let _ = ack.send(Ok(serial));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for (_, ack) in batch {
                    let _ = ack.send(Err(msg.clone()));
                }
                failure = Some(e);
            }
        }
    }
    (doc, failure)
}
