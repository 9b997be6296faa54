//! The stream hub: which accounts have open streams on this instance, and how a change reaches them.
//!
//! The store's change feed says what changed (a message stored for an account, an account's credentials
//! revoked); one dispatcher task hands each change to the hub, which wakes the streams of that account
//! only — a map keyed by account id, split in [`SHARDS`] locks — so a message costs the same whether
//! none or fifteen thousand other streams are open (Phoenix.PubSub and Centrifugo keep a registry by
//! topic for the same reason). Before, every stream received every change and compared ids:
//! O(open streams) wake-ups per message.
//!
//! Each account's streams share one [`Account`]: a `watch` channel that counts its changes (a stream
//! compares the count with the one it has seen, so a change that lands while the stream is busy is never
//! lost), and one re-check of the account per generation — the account, its access tokens and its newest
//! message are read once for all of its streams here, not once per stream. The safety net that catches a
//! lost change reads each account once per `STREAM_RECHECK`, shard by shard across the period (a random
//! start per instance), never all at once, and wakes the account's streams only if what it read changed
//! since the last sweep; a `Resync` (the feed was interrupted) or a lagged dispatcher sweeps every
//! account the same way, quickly but spread out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, broadcast, watch};
use uuid::Uuid;

use super::context::App;
use super::error::AppError;
use super::identity::{Caller, Credential};
use crate::store::{AccessToken, AccountEvent, Change, MessageQuery, Read, Store, StoreError, User, read_two};
use crate::telemetry::names;

/// Locks the account map is split into: a send takes one, briefly.
pub const SHARDS: usize = 64;

/// How long a full sweep after a `Resync` (or a lagged dispatcher) takes: one shard every
/// `RESYNC_SWEEP / SHARDS`.
const RESYNC_SWEEP: Duration = Duration::from_secs(2);

/// What has happened to an account since its streams were opened, as counters: a stream has seen the
/// counts it last acted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Generations {
    /// Messages may have been stored for the account: read the inbox after the cursor.
    pub mailbox: u64,
    /// The account's credentials may have changed, or a change may have been missed: check the stream's
    /// credential again, and read the inbox if its newest message is past the stream's cursor.
    pub check: u64,
    /// The number of the newest [`AccountEvent`] for the account's devices: pass on those after the one
    /// the stream passed on last.
    pub events: u64,
}

/// How many events an account keeps for a stream that is busy: one further behind misses the oldest.
pub const EVENT_BACKLOG: usize = 256;
/// How many message ids those events may name in all (a read mark names up to 1,000): the backlog's memory
/// is bounded by this (16 bytes an id), not only by its count.
pub const EVENT_BACKLOG_IDS: usize = 2048;

/// What a re-check found, shared by every stream of the account for one check generation.
#[derive(Debug)]
pub struct Checked {
    /// The account as stored now; `None` when it is gone.
    pub user: Option<User>,
    /// The newest message in the inbox: a stream whose cursor is at it has nothing to read.
    pub newest: Option<Uuid>,
}

/// One account with open streams on this instance.
pub struct Account {
    id: Uuid,
    wake: watch::Sender<Generations>,
    /// The re-check of the current check generation, loaded by the first stream that needs it.
    check: Mutex<(u64, Arc<Recheck>)>,
    /// Streams opened with an access token (the safety net then reads the account's tokens too).
    access_streams: std::sync::atomic::AtomicUsize,
    /// What the last safety-net sweep saw of the account: its streams are woken only when it changes.
    seen: Mutex<Option<u64>>,
    /// The latest events for the account's devices, numbered.
    events: Mutex<std::collections::VecDeque<(u64, Arc<AccountEvent>)>>,
}

#[derive(Default)]
struct Recheck {
    checked: OnceCell<Result<Arc<Checked>, String>>,
    tokens: OnceCell<Result<Arc<Vec<AccessToken>>, String>>,
}

impl Account {
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The events numbered after `seen`, oldest first, and how many of those were dropped from the
    /// backlog before the stream could take them.
    pub fn events_after(&self, seen: u64) -> (Vec<Arc<AccountEvent>>, u64) {
        let events = self.events.lock().expect("account events");
        let missed = events.front().map_or(0, |(first, _)| first.saturating_sub(seen + 1));
        (events.iter().filter(|(n, _)| *n > seen).map(|(_, e)| e.clone()).collect(), missed)
    }

    /// A receiver that wakes on every change to this account.
    pub fn subscribe(&self) -> watch::Receiver<Generations> {
        self.wake.subscribe()
    }

    fn recheck(&self, generation: u64) -> Arc<Recheck> {
        let mut current = self.check.lock().expect("account check");
        if current.0 != generation {
            *current = (generation, Arc::default());
        }
        current.1.clone()
    }

    /// The account as stored and its newest inbox message, read once per check generation for all of
    /// its streams. `Err` carries the store's error in words (the stream keeps going and looks again).
    pub async fn checked(&self, store: &dyn Store, generation: u64) -> Result<Arc<Checked>, String> {
        let recheck = self.recheck(generation);
        recheck
            .checked
            .get_or_init(|| async {
                metrics::counter!(names::STREAM_RECHECKS).increment(1);
                let query = MessageQuery::newest_in_inbox(self.id);
                let (user, newest) = account_and_newest(store, self.id, &query).await.map_err(|e| e.to_string())?;
                Ok(Arc::new(Checked { user, newest: newest.last().map(|m| m.id) }))
            })
            .await
            .clone()
    }

    /// The account's access tokens, read once per check generation (only streams opened with an access
    /// token need them).
    pub async fn access_tokens(&self, store: &dyn Store, generation: u64) -> Result<Arc<Vec<AccessToken>>, String> {
        let recheck = self.recheck(generation);
        recheck
            .tokens
            .get_or_init(|| async {
                store.access_tokens(self.id).await.map(Arc::new).map_err(|e: StoreError| e.to_string())
            })
            .await
            .clone()
    }
}

/// The registry of open streams by account.
pub struct Hub {
    shards: Box<[Mutex<HashMap<Uuid, Entry>>]>,
    max_per_account: usize,
}

struct Entry {
    account: Arc<Account>,
    streams: usize,
}

/// One open stream's place in the hub: dropping it gives the place back.
pub struct Registration {
    hub: Arc<Hub>,
    account: Arc<Account>,
    access: bool,
}

impl Registration {
    pub fn account(&self) -> &Arc<Account> {
        &self.account
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if self.access {
            self.account.access_streams.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
        let mut shard = self.hub.shard(self.account.id).lock().expect("hub shard");
        if let Some(entry) = shard.get_mut(&self.account.id) {
            entry.streams -= 1;
            if entry.streams == 0 {
                shard.remove(&self.account.id);
            }
        }
        metrics::gauge!(names::STREAMS_OPEN).decrement(1.0);
    }
}

/// The account already has as many streams open here as it may.
#[derive(Debug)]
pub struct TooManyStreams(pub usize);

impl Hub {
    /// A hub allowing `max_per_account` open streams per account.
    pub fn new(max_per_account: usize) -> Arc<Self> {
        let shards = (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect();
        Arc::new(Self { shards, max_per_account })
    }

    fn shard(&self, account: Uuid) -> &Mutex<HashMap<Uuid, Entry>> {
        // Account ids are random (v4): their low bits spread evenly.
        &self.shards[(account.as_u128() as usize) % SHARDS]
    }

    /// Takes a place for one more stream of `account` (opened with an access token, or not), unless it
    /// has [`Hub::max_per_account`] already.
    pub fn register(self: &Arc<Self>, account: Uuid, access: bool) -> Result<Registration, TooManyStreams> {
        let mut shard = self.shard(account).lock().expect("hub shard");
        let entry = shard.entry(account).or_insert_with(|| Entry {
            account: Arc::new(Account {
                id: account,
                wake: watch::Sender::new(Generations::default()),
                check: Mutex::new((0, Arc::default())),
                access_streams: Default::default(),
                seen: Mutex::new(None),
                events: Mutex::default(),
            }),
            streams: 0,
        });
        if entry.streams >= self.max_per_account {
            return Err(TooManyStreams(self.max_per_account));
        }
        entry.streams += 1;
        if access {
            entry.account.access_streams.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        metrics::gauge!(names::STREAMS_OPEN).increment(1.0);
        Ok(Registration { hub: self.clone(), account: entry.account.clone(), access })
    }

    /// The most streams one account may hold open here.
    pub fn max_per_account(&self) -> usize {
        self.max_per_account
    }

    /// Wakes the streams of `account` (if it has any here) with `bump` applied to its generations.
    fn wake(&self, account: Uuid, bump: impl FnOnce(&mut Generations)) {
        let shard = self.shard(account).lock().expect("hub shard");
        if let Some(entry) = shard.get(&account) {
            entry.account.wake.send_modify(bump);
        }
    }

    /// The accounts of one shard.
    fn shard_accounts(&self, index: usize) -> Vec<Arc<Account>> {
        self.shards[index].lock().expect("hub shard").values().map(|entry| entry.account.clone()).collect()
    }

    /// Applies one change from the feed.
    pub fn apply(&self, change: Change) {
        match change {
            Change::Mailbox(account) => self.wake(account, |g| g.mailbox += 1),
            Change::Revoked(account) => self.wake(account, |g| g.check += 1),
            Change::Event(account, event) => {
                let shard = self.shard(account).lock().expect("hub shard");
                if let Some(entry) = shard.get(&account) {
                    let number = entry.account.wake.borrow().events + 1;
                    let mut events = entry.account.events.lock().expect("account events");
                    events.push_back((number, event));
                    let ids = |events: &std::collections::VecDeque<(u64, Arc<AccountEvent>)>| -> usize {
                        events.iter().map(|(_, e)| e.ids_named()).sum()
                    };
                    while events.len() > 1 && (events.len() > EVENT_BACKLOG || ids(&events) > EVENT_BACKLOG_IDS) {
                        events.pop_front();
                    }
                    drop(events);
                    entry.account.wake.send_modify(|g| g.events = number);
                }
            }
            // Unlocks concern the throttle, not streams; a resync is swept by the dispatcher.
            Change::Unlocked(_) | Change::Resync => {}
        }
    }
}

/// The safety net for one shard's accounts: reads each (the account, its newest message, and its access
/// tokens if a stream uses one) and wakes its streams for a re-check only if that differs from what the
/// last sweep read — or on the first sweep of the account, which has no earlier reading. A missed message
/// moves the newest id, a missed revocation the token version, ended sessions, status or tokens: either
/// wakes the streams; an idle account costs its reads and nothing else.
async fn sweep(store: Arc<dyn Store>, accounts: Vec<Arc<Account>>) {
    use std::hash::{Hash, Hasher};
    for account in accounts {
        metrics::counter!(names::STREAM_RECHECKS).increment(1);
        let query = MessageQuery::newest_in_inbox(account.id);
        let (user, newest) = match account_and_newest(store.as_ref(), account.id, &query).await {
            Ok(found) => found,
            Err(e) => {
                tracing::warn!(error = %e, "the streams' safety net could not read an account; waking its streams");
                account.wake.send_modify(|g| g.check += 1);
                continue;
            }
        };
        let mut print = std::collections::hash_map::DefaultHasher::new();
        newest.last().map(|m| m.id).hash(&mut print);
        if let Some(user) = &user {
            (user.token_version, user.status.as_str(), &user.revoked_sessions).hash(&mut print);
        }
        if account.access_streams.load(std::sync::atomic::Ordering::Relaxed) > 0 {
            match store.access_tokens(account.id).await {
                Ok(tokens) => {
                    for token in tokens {
                        (token.id, token.digest, token.expires_at.map(|at| at.unix_timestamp())).hash(&mut print);
                    }
                }
                Err(_) => print.write_u8(1),
            }
        }
        let print = print.finish();
        let changed = account.seen.lock().expect("account sweep").replace(print) != Some(print);
        if changed {
            account.wake.send_modify(|g| g.check += 1);
        }
    }
}

/// Feeds the store's changes to the hub until the store closes, and runs the safety-net re-check: every
/// `period`, each account is looked at once, one shard at a time (one every `period / SHARDS`, from a
/// random shard; see [`sweep`]). A `Resync`, or changes missed because this task fell behind, sweep every
/// shard within [`RESYNC_SWEEP`].
pub async fn dispatch(
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    mut changes: broadcast::Receiver<Change>,
    period: Duration,
) {
    let step = (period / SHARDS as u32).max(Duration::from_millis(1));
    let mut safety_net = tokio::time::interval_at(tokio::time::Instant::now() + step, step);
    safety_net.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut next_shard = rand::random_range(0..SHARDS);
    // Shards still to sweep after a resync, and the pace.
    let mut resync_left = 0usize;
    let resync_step = RESYNC_SWEEP / SHARDS as u32;
    let mut resync = tokio::time::interval(resync_step);
    loop {
        tokio::select! {
            change = changes.recv() => match change {
                Ok(Change::Resync) | Err(broadcast::error::RecvError::Lagged(_)) => {
                    if resync_left == 0 {
                        resync.reset();
                    }
                    resync_left = SHARDS;
                }
                Ok(change) => hub.apply(change),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = safety_net.tick() => {
                tokio::spawn(sweep(store.clone(), hub.shard_accounts(next_shard)));
                next_shard = (next_shard + 1) % SHARDS;
            }
            _ = resync.tick(), if resync_left > 0 => {
                resync_left -= 1;
                tokio::spawn(sweep(store.clone(), hub.shard_accounts(resync_left)));
            }
        }
    }
}

/// A stream opened: its place among its account's streams here, how it is woken, and where it starts.
pub struct Opened {
    pub registration: Registration,
    pub wake: watch::Receiver<Generations>,
    /// The generations as they were when the stream started.
    pub seen: Generations,
    /// Deliver what comes after this message id; `None`: the inbox is empty, everything is new.
    pub cursor: Option<Uuid>,
}

/// Opens a stream of `caller`'s inbox: after `resume` (a reconnecting client's last message), or from
/// now on (after the newest message). At most the hub's limit of streams per account.
pub async fn open(app: &App, hub: &Arc<Hub>, caller: &Caller, resume: Option<Uuid>) -> Result<Opened, AppError> {
    let owner = caller.user.id;
    let access = matches!(caller.credential, Credential::Access(_));
    let registration = hub.register(owner, access).map_err(|TooManyStreams(limit)| AppError::TooManyStreams(limit))?;
    // Registered before finding the starting point, so nothing committed in between is missed.
    let mut wake = registration.account().subscribe();
    let seen = *wake.borrow_and_update();
    let cursor = match resume {
        Some(id) => Some(id),
        None => app.store.list_messages(&MessageQuery::newest_in_inbox(owner)).await?.last().map(|m| m.id),
    };
    Ok(Opened { registration, wake, seen, cursor })
}

/// An account and the newest message of its inbox (`query`), read together.
async fn account_and_newest(
    store: &dyn Store,
    id: Uuid,
    query: &MessageQuery,
) -> Result<(Option<User>, Vec<crate::domain::Message>), StoreError> {
    let [user, newest] = read_two(store, [Read::UserById(id), Read::Messages(query)]).await?;
    Ok((user.into_user(), newest.into_messages()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generations(receiver: &watch::Receiver<Generations>) -> Generations {
        *receiver.borrow()
    }

    #[test]
    fn a_change_wakes_only_the_account_it_concerns() {
        let hub = Hub::new(30);
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let ada_stream = hub.register(ada, false).unwrap();
        let bob_streams: Vec<_> = (0..3).map(|_| hub.register(bob, false).unwrap()).collect();
        let mut ada_wake = ada_stream.account().subscribe();
        let mut bob_wakes: Vec<_> = bob_streams.iter().map(|r| r.account().subscribe()).collect();
        hub.apply(Change::Mailbox(ada));
        hub.apply(Change::Revoked(ada));
        assert!(ada_wake.has_changed().unwrap());
        assert_eq!(generations(&ada_wake), Generations { mailbox: 1, check: 1, events: 0 });
        for wake in &mut bob_wakes {
            assert!(!wake.has_changed().unwrap(), "bob's streams were not woken by ada's changes");
        }
        // A change for an account without a stream here costs a lookup and nothing else.
        hub.apply(Change::Mailbox(Uuid::new_v4()));
        assert!(!bob_wakes[0].has_changed().unwrap());
        ada_wake.borrow_and_update();
        hub.apply(Change::Mailbox(bob));
        assert!(!ada_wake.has_changed().unwrap());
        assert!(bob_wakes.iter_mut().all(|w| w.has_changed().unwrap()));
    }

    #[test]
    fn an_event_reaches_its_accounts_streams_in_order_and_a_busy_one_learns_what_it_missed() {
        let hub = Hub::new(30);
        let (ada, bob) = (Uuid::new_v4(), Uuid::new_v4());
        let ada_stream = hub.register(ada, false).unwrap();
        let bob_stream = hub.register(bob, false).unwrap();
        let deleted = |n: u128| Arc::new(AccountEvent::Deleted { id: Uuid::from_u128(n), unread: None });
        hub.apply(Change::Event(ada, deleted(1)));
        hub.apply(Change::Event(ada, deleted(2)));
        let account = ada_stream.account();
        assert_eq!(account.subscribe().borrow().events, 2);
        let (events, missed) = account.events_after(0);
        assert_eq!((events, missed), (vec![deleted(1), deleted(2)], 0));
        assert_eq!(account.events_after(1).0, vec![deleted(2)]);
        assert_eq!(bob_stream.account().subscribe().borrow().events, 0, "only the account's streams");
        for n in 3..=(EVENT_BACKLOG as u128 + 10) {
            hub.apply(Change::Event(ada, deleted(n)));
        }
        let (events, missed) = account.events_after(2);
        assert_eq!((events.len(), missed), (EVENT_BACKLOG, 8));
        // Marks naming many ids are kept by what they name: the backlog's memory is bounded.
        let many = Arc::new(AccountEvent::Marked {
            read: true,
            up_to: None,
            with: None,
            ids: (0..1000).map(Uuid::from_u128).collect(),
            unread: 0,
        });
        for _ in 0..5 {
            hub.apply(Change::Event(ada, many.clone()));
        }
        let (events, _) = account.events_after(0);
        assert_eq!(events.len(), 2, "two marks of 1,000 ids fit in {EVENT_BACKLOG_IDS}");
    }

    #[test]
    fn an_account_may_hold_only_so_many_streams_and_gets_its_places_back() {
        let hub = Hub::new(2);
        let ada = Uuid::new_v4();
        let first = hub.register(ada, false).unwrap();
        let second = hub.register(ada, false).unwrap();
        assert!(matches!(hub.register(ada, false), Err(TooManyStreams(2))));
        assert!(hub.register(Uuid::new_v4(), false).is_ok(), "the limit is per account");
        drop(first);
        let third = hub.register(ada, false).unwrap();
        drop((second, third));
        assert!(hub.shard(ada).lock().unwrap().get(&ada).is_none(), "an account without streams is forgotten");
    }

    #[test]
    fn every_account_is_in_exactly_one_shard() {
        let hub = Hub::new(30);
        let registrations: Vec<_> = (0..500).map(|_| hub.register(Uuid::new_v4(), false).unwrap()).collect();
        let mut swept: Vec<Uuid> = (0..SHARDS).flat_map(|shard| hub.shard_accounts(shard)).map(|a| a.id).collect();
        swept.sort();
        let mut registered: Vec<Uuid> = registrations.iter().map(|r| r.account().id).collect();
        registered.sort();
        assert_eq!(swept, registered);
    }

    /// A store on a fresh SQLite file with one account in it.
    async fn store_with_account() -> (tempfile::TempDir, Arc<dyn Store>, crate::store::User) {
        let dir = tempfile::tempdir().unwrap();
        let location = crate::store::Location::Sqlite(dir.path().join("hub.sqlite3"));
        let store =
            crate::store::open(&location, &crate::store::OpenOptions::new(2, Duration::from_secs(5))).await.unwrap();
        let user = store
            .create_user(crate::store::NewUser {
                id: Uuid::new_v4(),
                email: crate::domain::Email::parse("ada@example.com").unwrap(),
                password_hash: "$2b$04$xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx".into(),
                created_at: crate::store::now_millis(),
                registration_key: None,
                role: crate::store::Role::User,
            })
            .await
            .unwrap();
        (dir, store, user)
    }

    #[tokio::test]
    async fn the_safety_net_wakes_an_accounts_streams_only_when_something_changed() {
        let (_dir, store, user) = store_with_account().await;
        let hub = Hub::new(30);
        let registration = hub.register(user.id, false).unwrap();
        let wake = registration.account().subscribe();
        let sweep_once = || sweep(store.clone(), hub.shard_accounts((user.id.as_u128() as usize) % SHARDS));
        sweep_once().await;
        assert_eq!(wake.borrow().check, 1, "the first sweep has nothing to compare with: it wakes");
        sweep_once().await;
        sweep_once().await;
        assert_eq!(wake.borrow().check, 1, "nothing changed: nothing woken");
        // A message whose change notice was lost (no dispatcher runs here): the next sweep finds it.
        let me = crate::store::Party::from(&user);
        let message = crate::store::NewMessage {
            from: me.clone(),
            to: me,
            content: crate::domain::MessageContent::parse("hello", 100).unwrap(),
            idempotency: None,
            expires_in: None,
        };
        store.insert_message(message).await.unwrap();
        sweep_once().await;
        assert_eq!(wake.borrow().check, 2, "a missed message wakes the streams");
        // So does a missed revocation.
        store.revoke_tokens(user.id).await.unwrap();
        sweep_once().await;
        assert_eq!(wake.borrow().check, 3, "a missed revocation wakes the streams");
        sweep_once().await;
        assert_eq!(wake.borrow().check, 3);
    }
}
