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
            blocks: Mutex::default(),
            known: Mutex::default(),
            lookups: Mutex::default(),
        }
    }

    /// Whether throttling is on.
    pub fn enabled(&self) -> bool {
        self.limits.is_some()
    }

    /// Before checking credentials: `Err(wait)` when this address has failed too often for this account,
    /// or across accounts, or when the account is blocked for addresses its owner has not used.
    pub fn check_credentials(&self, account: &str, address: IpAddr) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        let now = Instant::now();
        let account = account_key(account);
        let pair = self.pairs.blocked(&(account.clone(), address), limits.login_failures, limits.window, now);
        let spraying = self.addresses.blocked(&address, limits.address_failures, limits.window, now);
        let ceiling = if self.is_known(&account, address, now) {
            None
        } else {
            let blocks = self.blocks.lock().expect("throttle lock");
            blocks.get(&account).filter(|b| b.until > now).map(|b| b.until - now)
        };
        match pair.into_iter().chain(spraying).chain(ceiling).max() {
            Some(wait) => Err(wait),
            None => Ok(()),
        }
    }

    /// A credential check failed.
    pub fn credentials_failed(&self, account: &str, address: IpAddr) {
        let Some(limits) = &self.limits else { return };
        let now = Instant::now();
        let account = account_key(account);
        self.pairs.record((account.clone(), address), limits.window, now);
        self.addresses.record(address, limits.window, now);
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
        self.pairs.forget(&(account.clone(), address));
        let mut known = self.known.lock().expect("throttle lock");
        shed(&mut known, |addresses| addresses.iter().any(|(_, at)| now.duration_since(*at) < KNOWN_ADDRESS_FOR));
        let addresses = known.entry(account).or_default();
        addresses.retain(|(a, _)| *a != address);
        if addresses.len() == MAX_KNOWN_ADDRESSES {
            addresses.remove(0);
        }
        addresses.push((address, now));
    }

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

    /// Before registering: `Err(wait)` when the address has used up its registrations.
    pub fn check_registration(&self, address: IpAddr) -> Result<(), Duration> {
        let Some(limits) = &self.limits else { return Ok(()) };
        self.registrations.blocked(&address, limits.registrations, limits.window, Instant::now()).map_or(Ok(()), Err)
    }

    /// A registration created an account or found the email taken: the address learnt something.
    pub fn registration_answered(&self, address: IpAddr) {
        if let Some(limits) = &self.limits {
            self.registrations.record(address, limits.window, Instant::now());
        }
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
    /// How long `key` must wait, if it has used up `limit` in its current window.
    fn blocked(&self, key: &K, limit: u32, window: Duration, now: Instant) -> Option<Duration> {
        let windows = self.windows.lock().expect("throttle lock");
        let current = windows.get(key)?;
        let ends = current.started + window;
        (current.count >= limit && ends > now).then(|| ends - now)
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
            assert!(throttle.check_credentials("ada@example.com", AWAY).is_ok());
            throttle.credentials_failed("ada@example.com", AWAY);
        }
        let wait = throttle.check_credentials("ADA@example.com ", AWAY).unwrap_err();
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO);
        assert!(throttle.check_credentials("ada@example.com", HOME).is_ok(), "the owner's address is not affected");
        assert!(throttle.check_credentials("bob@example.com", AWAY).is_ok(), "other accounts are not affected");
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.check_credentials("ada@example.com", AWAY).is_ok(), "the window ended");
    }

    #[test]
    fn past_the_account_ceiling_only_the_owners_addresses_get_through_and_the_block_grows() {
        let throttle = Throttle::new(Some(limits()));
        throttle.credentials_succeeded("ada@example.com", HOME);
        for n in 0..6 {
            throttle.credentials_failed("ada@example.com", attacker(n));
        }
        assert!(throttle.check_credentials("ada@example.com", attacker(99)).is_err(), "a new address is refused");
        assert!(throttle.check_credentials("ada@example.com", AWAY).is_err(), "and so is any the owner never used");
        assert!(throttle.check_credentials("ada@example.com", HOME).is_ok(), "the owner's address still gets in");
        let first = throttle.blocks.lock().unwrap()["ada@example.com"].until;
        std::thread::sleep(Duration::from_millis(220));
        assert!(throttle.check_credentials("ada@example.com", AWAY).is_ok(), "the first block lasts one window");
        for n in 0..6 {
            throttle.credentials_failed("ada@example.com", attacker(n + 10));
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
            throttle.credentials_failed("ada@example.com", attacker(n % 2));
        }
        assert!(throttle.check_credentials("ada@example.com", attacker(0)).is_err());
        throttle.unlock("Ada@Example.com");
        assert!(throttle.check_credentials("ada@example.com", attacker(0)).is_ok());
        assert!(throttle.check_credentials("ada@example.com", attacker(7)).is_ok());
    }

    #[test]
    fn an_address_guessing_across_accounts_is_stopped() {
        let throttle = Throttle::new(Some(limits()));
        for n in 0..5 {
            throttle.credentials_failed(&format!("user{n}@example.com"), AWAY);
        }
        assert!(throttle.check_credentials("new@example.com", AWAY).is_err(), "the address has 5 failures");
        throttle.credentials_succeeded("new@example.com", AWAY);
        assert!(throttle.check_credentials("other@example.com", AWAY).is_err(), "a success does not excuse it");
    }

    #[test]
    fn registrations_count_only_answers_per_address() {
        let throttle = Throttle::new(Some(limits()));
        assert!(throttle.check_registration(HOME).is_ok());
        throttle.registration_answered(HOME);
        assert!(throttle.check_registration(HOME).is_ok());
        throttle.registration_answered(HOME);
        assert!(throttle.check_registration(HOME).is_err());
        assert!(throttle.check_registration(AWAY).is_ok());
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
            throttle.credentials_failed("ada@example.com", HOME);
            throttle.registration_answered(HOME);
            assert!(throttle.check_registration(HOME).is_ok());
            assert!(throttle.check_lookup("caller", &format!("{}@example.com", rand::random::<u64>())).is_ok());
        }
        assert!(throttle.check_credentials("ada@example.com", HOME).is_ok());
    }
}
