//! Anti-automation, in fixed windows, checked before any bcrypt work so a flood costs the server nothing:
//!
//! - failed credential checks per **account and client address**: the guesser is stopped, and only the
//!   guesser — the owner, from its own address, is not affected;
//! - failed credential checks per **account**, from every address: a much higher ceiling, for guessing
//!   spread over many addresses. Past it, addresses the account's owner has logged in from recently still
//!   get through; others are refused, for a block that doubles each time the ceiling is reached again;
//! - failed credential checks per **client address**, across accounts (password spraying, stuffing);
//! - registrations per address, counting only what tells an enumerator something (a new account, or
//!   "email already registered"), never a malformed request;
//! - lookups of other accounts by email per caller (the recipient of a send, `with=`): distinct emails per
//!   window, since each answer says whether an account exists.
//!
//! Accounts are keyed by the email as typed (normalized), whether or not it exists: an unknown email is
//! throttled exactly like a known one, so a 429 reveals nothing about which accounts exist. The counters
//! live in each msgd process.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits; `None` in [`Throttle::new`] switches throttling off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Failed logins and password changes per account from one client address, per window.
    pub login_failures: u32,
    /// Failed logins and password changes per account from every address, per window.
    pub account_failures: u32,
    /// Failed logins and password changes per client address, across accounts, per window.
    pub address_failures: u32,
    /// Registrations that created an account or found the email taken, per client address per window.
    pub registrations: u32,
    /// Distinct emails a caller may look up (send to, list `with=`) per window.
    pub lookups: u32,
    pub window: Duration,
}

/// How long an address the owner logged in from counts as the owner's.
pub const KNOWN_ADDRESS_FOR: Duration = Duration::from_secs(30 * 24 * 3600);

/// The longest an account's ceiling block lasts, however often it is reached.
pub const MAX_ACCOUNT_BLOCK: Duration = Duration::from_secs(24 * 3600);

/// Most retries of one registration answered per window (each gives the account a new password; a client
/// that lost an answer needs one or two).
pub const MAX_REPLAYS: u32 = 3;

/// Most keys one table holds before it sheds expired entries (and, if need be, starts over).
const MAX_KEYS: usize = 100_000;

/// Most addresses remembered per account.
const MAX_KNOWN_ADDRESSES: usize = 16;

/// The counters.
pub struct Throttle {
    limits: Option<Limits>,
    pairs: Counters<(String, IpAddr)>,
    accounts: Counters<String>,
    addresses: Counters<IpAddr>,
    registrations: Counters<IpAddr>,
    /// Per registration key (its digest): replays answered.
    replays: Counters<String>,
    /// Per account: how often the ceiling was reached (for the back-off), and until when it blocks.
    blocks: Mutex<HashMap<String, Block>>,
    /// Per account: addresses its owner logged in from, and when.
    known: Mutex<HashMap<String, Vec<(IpAddr, Instant)>>>,
    lookups: Mutex<HashMap<String, Lookups>>,
}

struct Block {
    strikes: u32,
    until: Instant,
    /// A block no longer counts towards the back-off once this long has passed without one.
    forgiven_after: Instant,
}

struct Lookups {
    started: Instant,
    emails: HashSet<String>,
}

impl Throttle {
    /// Throttling with `limits`, or none.
    pub fn new(limits: Option<Limits>) -> Self {
        Self {
            limits,
            pairs: Counters::default(),
            accounts: Counters::default(),
            addresses: Counters::default(),
            registrations: Counters::default(),
            replays: Counters::default(),
            blocks: Mutex::default(),
            known: Mutex::default(),
            lookups: Mutex::default(),
        }
    }

    /// Whether throttling is on.
    pub fn enabled(&self) -> bool {
        self.limits.is_some()
    }

    /// Before checking credentials: counts the attempt as a failure from now on (a success gives it back:
    /// [`Throttle::credentials_succeeded`]), or `Err(wait)` when this address has used up its attempts for
    /// this account, or across accounts, or when the account is blocked for addresses its owner has not
    /// used. Counting when the attempt starts, not when it ends, is what keeps a burst of concurrent
    /// attempts within the limits: each takes its place before any is checked.
    pub fn begin_credentials(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        let now = Instant::now();
        let account = account_key(account);
        let address = client_key(address);
        if !self.is_known(&account, address, now) {
            let blocks = self.blocks.lock().expect("throttle lock");
            if let Some(block) = blocks.get(&account).filter(|b| b.until > now) {
                return Err(block.until - now);
            }
        }
        let pair = (account.clone(), address);
        self.pairs.take(pair.clone(), limits.login_failures, limits.window, now)?;
        if let Err(wait) = self.addresses.take(address, limits.address_failures, limits.window, now) {
            self.pairs.give_back(&pair);
            return Err(wait);
        }
        let total = self.accounts.record(account.clone(), limits.window, now);
        if total >= limits.account_failures {
            // The ceiling: block unknown addresses, for longer each time it is reached again.
            self.accounts.forget(&account);
            let mut blocks = self.blocks.lock().expect("throttle lock");
            shed(&mut blocks, |b| b.forgiven_after > now);
            let strikes = blocks.get(&account).filter(|b| b.forgiven_after > now).map_or(0, |b| b.strikes) + 1;
            let block = limits.window.saturating_mul(1 << (strikes - 1).min(16)).min(MAX_ACCOUNT_BLOCK);
            blocks.insert(
                account,
                Block { strikes, until: now + block, forgiven_after: now + block + MAX_ACCOUNT_BLOCK },
            );
        }
        Ok(())
    }

    /// A credential check succeeded: this address's failures for the account are forgiven and the
    /// address is remembered as the owner's (the address's failures elsewhere are not forgiven: one right
    /// password does not excuse guessing at other accounts).
    pub fn credentials_succeeded(&self, account: &str, address: IpAddr) {
        if self.limits.is_none() {
            return;
        }
        let now = Instant::now();
        let account = account_key(account);
        let address = client_key(address);
        self.pairs.forget(&(account.clone(), address));
        self.addresses.give_back(&address);
        self.accounts.give_back(&account);
        let mut known = self.known.lock().expect("throttle lock");
        shed(&mut known, |addresses| addresses.iter().any(|(_, at)| now.duration_since(*at) < KNOWN_ADDRESS_FOR));
        let addresses = known.entry(account).or_default();
        addresses.retain(|(a, _)| *a != address);
        if addresses.len() == MAX_KNOWN_ADDRESSES {
            addresses.remove(0);
        }
        addresses.push((address, now));
    }

    /// `address` must be a [`client_key`].
    fn is_known(&self, account: &str, address: IpAddr, now: Instant) -> bool {
        let known = self.known.lock().expect("throttle lock");
        known.get(account).is_some_and(|addresses| {
            addresses.iter().any(|(a, at)| *a == address && now.duration_since(*at) < KNOWN_ADDRESS_FOR)
        })
    }

    /// Forgets every failure counted against `account` and lifts its block (an administrator's unlock).
    pub fn unlock(&self, account: &str) {
        let account = account_key(account);
        self.accounts.forget(&account);
        self.pairs.forget_where(|(a, _)| *a == account);
        self.blocks.lock().expect("throttle lock").remove(&account);
    }

    /// Before registering: counts the registration (whatever it ends with: an account, or the news that
    /// the email is taken), or `Err(wait)` when the address has used up its registrations. Counted when it
    /// starts, so a burst of concurrent registrations stays within the limit.
    pub fn begin_registration(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        self.registrations.take(client_key(address), limits.registrations, limits.window, Instant::now()).map(drop)
    }

    /// Before answering a retried registration (the same key, from the same client): `Err(wait)` once
    /// [`MAX_REPLAYS`] of that key have been answered this window.
    pub fn begin_replay(&self, key_digest: &str) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        self.replays.take(key_digest.to_owned(), MAX_REPLAYS, limits.window, Instant::now()).map(drop)
    }

    /// Counts a lookup of `email` by `caller` (an account id or an address); `Err(wait)` when the caller
    /// has looked up too many distinct emails this window. Looking the same email up again is free.
    pub fn check_lookup(&self, caller: &str, email: &str) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        let now = Instant::now();
        let mut lookups = self.lookups.lock().expect("throttle lock");
        shed(&mut lookups, |l| l.started + limits.window > now);
        let entry =
            lookups.entry(caller.to_owned()).or_insert_with(|| Lookups { started: now, emails: HashSet::new() });
        if entry.started + limits.window <= now {
            *entry = Lookups { started: now, emails: HashSet::new() };
        }
        let email = account_key(email);
        if entry.emails.contains(&email) {
            return Ok(());
        }
        if entry.emails.len() >= limits.lookups as usize {
            return Err(entry.started + limits.window - now);
        }
        entry.emails.insert(email);
        Ok(())
    }
}

/// A client, as the per-address counters see it: an IPv4 address, or an IPv6 address's /64 (one host
/// usually holds a whole /64, so its addresses are one client); an IPv4-mapped IPv6 address is its IPv4.
pub fn client_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
    }
}

/// Emails are matched as the account would be: trimmed, lower-cased, and bounded in size.
fn account_key(email: &str) -> String {
    email.trim().chars().take(crate::domain::Email::MAX_LEN).collect::<String>().to_lowercase()
}

/// Keeps a table bounded: past [`MAX_KEYS`], drops what `live` says is over, and if that is not enough,
/// everything.
fn shed<K: Eq + Hash, V>(table: &mut HashMap<K, V>, live: impl Fn(&V) -> bool) {
    if table.len() >= MAX_KEYS {
        table.retain(|_, v| live(v));
        if table.len() >= MAX_KEYS {
            tracing::warn!(keys = table.len(), "throttle table full of live entries; starting over");
            table.clear();
        }
    }
}

struct Window {
    started: Instant,
    count: u32,
}

struct Counters<K> {
    windows: Mutex<HashMap<K, Window>>,
}

impl<K> Default for Counters<K> {
    fn default() -> Self {
        Self { windows: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash> Counters<K> {
    /// Takes one of `limit` places in `key`'s current window, checking and counting under one lock;
    /// `Err(wait)` when none is left. Returns the count.
    fn take(&self, key: K, limit: u32, window: Duration, now: Instant) -> Result<u32, Duration> {
        let mut windows = self.windows.lock().expect("throttle lock");
        shed(&mut windows, |w| w.started + window > now);
        let entry = windows.entry(key).or_insert(Window { started: now, count: 0 });
        if entry.started + window <= now {
            *entry = Window { started: now, count: 0 };
        }
        if entry.count >= limit {
            return Err(entry.started + window - now);
        }
        entry.count += 1;
        Ok(entry.count)
    }

    /// Gives back one place taken in `key`'s current window.
    fn give_back(&self, key: &K) {
        if let Some(entry) = self.windows.lock().expect("throttle lock").get_mut(key) {
            entry.count = entry.count.saturating_sub(1);
        }
    }

    /// Counts one for `key`; returns its count in the current window.
    fn record(&self, key: K, window: Duration, now: Instant) -> u32 {
        let mut windows = self.windows.lock().expect("throttle lock");
        shed(&mut windows, |w| w.started + window > now);
        let entry = windows.entry(key).or_insert(Window { started: now, count: 0 });
        if entry.started + window <= now {
            *entry = Window { started: now, count: 0 };
        }
        entry.count += 1;
        entry.count
    }

    fn forget(&self, key: &K) {
        self.windows.lock().expect("throttle lock").remove(key);
    }

    fn forget_where(&self, matches: impl Fn(&K) -> bool) {
        self.windows.lock().expect("throttle lock").retain(|key, _| !matches(key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            login_failures: 3,
            account_failures: 6,
            address_failures: 5,
            registrations: 2,
            lookups: 2,
            window: Duration::from_millis(200),
        }
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
    const AWAY: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));

    fn attacker(n: u8) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, n))
    }

    #[test]
    fn an_address_is_stopped_for_an_account_it_guessed_at_but_the_owner_is_not() {
        let throttle = Throttle::new(Some(limits()));
        for _ in 0..3 {
            assert!(throttle.begin_credentials("ada@example.com", AWAY).is_ok());
        }
        let wait = throttle.begin_credentials("ADA@example.com ", AWAY).unwrap_err();
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO);
        assert!(throttle.begin_credentials("ada@example.com", HOME).is_ok(), "the owner's address is not affected");
        assert!(throttle.begin_credentials("bob@example.com", AWAY).is_ok(), "other accounts are not affected");
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.begin_credentials("ada@example.com", AWAY).is_ok(), "the window ended");
    }

    #[test]
    fn an_attempt_counts_from_its_start_and_a_success_gives_its_place_back() {
        let throttle = Throttle::new(Some(limits()));
        for _ in 0..10 {
            throttle.begin_credentials("ada@example.com", HOME).unwrap();
            throttle.credentials_succeeded("ada@example.com", HOME);
        }
        // Three attempts in flight at once use up the limit before any has ended.
        for _ in 0..3 {
            throttle.begin_credentials("ada@example.com", AWAY).unwrap();
        }
        assert!(throttle.begin_credentials("ada@example.com", AWAY).is_err());
    }

    #[test]
    fn a_burst_of_concurrent_attempts_never_exceeds_the_limit() {
        let throttle = std::sync::Arc::new(Throttle::new(Some(Limits {
            login_failures: 10,
            account_failures: 1000,
            address_failures: 1000,
            registrations: 20,
            lookups: 50,
            window: Duration::from_secs(60),
        })));
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(60));
        let threads: Vec<_> = (0..60)
            .map(|_| {
                let (throttle, barrier) = (throttle.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let login = throttle.begin_credentials("ada@example.com", AWAY).is_ok();
                    let registration = throttle.begin_registration(AWAY).is_ok();
                    (login, registration)
                })
            })
            .collect();
        let attempts: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(attempts.iter().filter(|(login, _)| *login).count(), 10);
        assert_eq!(attempts.iter().filter(|(_, registration)| *registration).count(), 20);
    }

    #[test]
    fn an_ipv6_slash_64_is_one_client() {
        let throttle = Throttle::new(Some(limits()));
        let host = |last: u16| IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 0, 0, 0, last));
        for n in 0..3 {
            throttle.begin_credentials("ada@example.com", host(n)).unwrap();
        }
        assert!(throttle.begin_credentials("ada@example.com", host(99)).is_err(), "another address of the /64");
        let neighbour = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 0, 0, 0, 1));
        assert!(throttle.begin_credentials("ada@example.com", neighbour).is_ok(), "the next /64 is another client");
        let mapped = IpAddr::V6(std::net::Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped());
        assert_eq!(client_key(mapped), AWAY);
        assert_eq!(client_key(host(7)), client_key(host(8)));
    }

    #[test]
    fn past_the_account_ceiling_only_the_owners_addresses_get_through_and_the_block_grows() {
        let throttle = Throttle::new(Some(limits()));
        throttle.credentials_succeeded("ada@example.com", HOME);
        for n in 0..6 {
            throttle.begin_credentials("ada@example.com", attacker(n)).unwrap();
        }
        assert!(throttle.begin_credentials("ada@example.com", attacker(99)).is_err(), "a new address is refused");
        assert!(throttle.begin_credentials("ada@example.com", AWAY).is_err(), "and so is any the owner never used");
        assert!(throttle.begin_credentials("ada@example.com", HOME).is_ok(), "the owner's address still gets in");
        let first = throttle.blocks.lock().unwrap()["ada@example.com"].until;
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.begin_credentials("ada@example.com", AWAY).is_ok(), "the first block lasts one window");
        for n in 0..6 {
            let _ = throttle.begin_credentials("ada@example.com", attacker(n + 10));
        }
        let blocks = throttle.blocks.lock().unwrap();
        let second = &blocks["ada@example.com"];
        assert_eq!(second.strikes, 2);
        assert!(second.until - first >= Duration::from_millis(380), "the second lasts two windows");
    }

    #[test]
    fn an_unlock_clears_every_count_and_block_of_the_account() {
        let throttle = Throttle::new(Some(limits()));
        for n in 0..6 {
            throttle.begin_credentials("ada@example.com", attacker(n % 2)).unwrap();
        }
        assert!(throttle.begin_credentials("ada@example.com", attacker(0)).is_err());
        throttle.unlock("Ada@Example.com");
        assert!(throttle.begin_credentials("ada@example.com", attacker(0)).is_ok());
        assert!(throttle.begin_credentials("ada@example.com", attacker(7)).is_ok());
    }

    #[test]
    fn an_address_guessing_across_accounts_is_stopped() {
        let throttle = Throttle::new(Some(limits()));
        for n in 0..4 {
            throttle.begin_credentials(&format!("user{n}@example.com"), AWAY).unwrap();
        }
        // One right password gives back its own attempt, not the address's failures elsewhere.
        throttle.begin_credentials("new@example.com", AWAY).unwrap();
        throttle.credentials_succeeded("new@example.com", AWAY);
        assert!(throttle.begin_credentials("other@example.com", AWAY).is_ok(), "the fifth");
        assert!(throttle.begin_credentials("another@example.com", AWAY).is_err(), "the address has 5 failures");
    }

    #[test]
    fn registrations_count_per_address_from_their_start() {
        let throttle = Throttle::new(Some(limits()));
        assert!(throttle.begin_registration(HOME).is_ok());
        assert!(throttle.begin_registration(HOME).is_ok());
        assert!(throttle.begin_registration(HOME).is_err());
        assert!(throttle.begin_registration(AWAY).is_ok());
    }

    #[test]
    fn lookups_count_distinct_emails_per_caller() {
        let throttle = Throttle::new(Some(limits()));
        for _ in 0..5 {
            assert!(throttle.check_lookup("caller", "a@example.com").is_ok(), "the same email again is free");
        }
        assert!(throttle.check_lookup("caller", "B@example.com").is_ok());
        assert!(throttle.check_lookup("caller", "c@example.com").is_err());
        assert!(throttle.check_lookup("caller", "b@example.com").is_ok());
        assert!(throttle.check_lookup("someone else", "c@example.com").is_ok());
    }

    #[test]
    fn switched_off_it_never_blocks() {
        let throttle = Throttle::new(None);
        for _ in 0..100 {
            assert!(throttle.begin_credentials("ada@example.com", HOME).is_ok());
            assert!(throttle.begin_registration(HOME).is_ok());
            assert!(throttle.check_lookup("caller", &format!("{}@example.com", rand::random::<u64>())).is_ok());
        }
    }
}
