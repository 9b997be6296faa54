//! Credentials: generated passwords, bcrypt hashing gated to one job per core, and signed login tokens.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use uuid::Uuid;

use crate::domain::{NewPassword, Password};
use crate::telemetry::{GaugeGuard, names};

/// The prefix of personal access tokens (so secret scanners can find them).
pub const ACCESS_TOKEN_PREFIX: &str = "msgk_";

/// Length of server-generated passwords: 24 alphanumerics, about 143 bits of entropy.
pub const GENERATED_PASSWORD_LEN: usize = 24;

/// Shortest `JWT_SECRET` accepted, in bytes (HS256 wants a key at least as long as its output).
pub const MIN_SECRET_BYTES: usize = 32;

/// Issuer and audience of every token.
pub const TOKEN_ISSUER: &str = "msgkit";

/// Clock skew tolerated when checking expiry.
pub const LEEWAY_SECS: u64 = 5;

/// A fresh password from the operating system's CSPRNG (via rand's thread-local ChaCha, seeded by it).
pub fn generate_password() -> NewPassword {
    let raw = Alphanumeric.sample_string(&mut rand::rng(), GENERATED_PASSWORD_LEN);
    NewPassword::parse(raw).expect("generated passwords meet the policy")
}

/// 256 random bits for a token-signing secret.
pub fn generate_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 32];
    rand::fill(&mut secret[..]);
    secret
}

/// Failures of the hashing machinery itself (never "wrong password": that is `Ok(false)`).
#[derive(Debug, Error)]
pub enum HashError {
    #[error("bcrypt failed: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("the hashing task did not finish: {0}")]
    Join(#[from] tokio::task::JoinError),
    #[error("bcrypt threads: {0}")]
    Thread(String),
}

/// bcrypt on threads of its own, one per core, at the lowest scheduling priority: a flood of logins uses
/// every idle cycle, yet anything else msgd has to do (reading a page, sending a message) runs first, so
/// the rest of the API keeps its latency (measured by `bench/run`: read p99 during a login flood). Jobs
/// wait in a queue for a thread; a job whose caller has gone (timed out, disconnected) is dropped unrun.
#[derive(Clone)]
pub struct PasswordHasher {
    cost: u32,
    jobs: std::sync::mpsc::Sender<Job>,
    /// A hash of a random password at the same cost, verified against when an account does not exist so
    /// that an unknown email costs the same time as a wrong password.
    dummy_hash: Arc<str>,
}

type Job = Box<dyn FnOnce() + Send>;

impl PasswordHasher {
    /// Starts `threads` hashing threads. Computes the dummy hash, so it takes one bcrypt's time.
    pub async fn new(cost: u32, threads: usize) -> Result<Self, HashError> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("bcrypt-{index}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        // The lock is released before the job runs (a `while let` on the guard would hold
                        // it through the job and run one at a time).
                        let next = queue.lock().expect("bcrypt queue").recv();
                        match next {
                            Ok(job) => job(),
                            // Every hasher is gone and the channel closed.
                            Err(_) => return,
                        }
                    }
                })
                .map_err(|e| HashError::Thread(e.to_string()))?;
        }
        let decoy = generate_password();
        let dummy_hash: Arc<str> =
            tokio::task::spawn_blocking(move || bcrypt::hash(decoy.expose(), cost)).await??.into();
        Ok(Self { cost, jobs, dummy_hash })
    }

    /// The configured cost.
    pub fn cost(&self) -> u32 {
        self.cost
    }

    /// Hashes a password that meets the policy.
    ///
    /// bcrypt reads at most 72 bytes. `NewPassword` and `Password::is_hashable` refuse anything longer, so
    /// the plain `hash`/`verify` never drop a byte of ours; the crate's `non_truncating_*` variants count a
    /// C string terminator and would refuse a 72-byte password that standard bcrypt uses whole.
    pub async fn hash(&self, password: &NewPassword) -> Result<String, HashError> {
        let password = password.expose().to_owned();
        let cost = self.cost;
        self.run("hash", move || bcrypt::hash(password, cost)).await
    }

    /// Hashes again, at this hasher's cost, a password that just matched a hash of another cost.
    pub async fn rehash(&self, password: &Password) -> Result<String, HashError> {
        let password = password.expose().to_owned();
        let cost = self.cost;
        self.run("hash", move || bcrypt::hash(password, cost)).await
    }

    /// Checks `attempt` against `stored`, or against the dummy hash when there is no account, so both
    /// take the same path and the same time. Returns `false` for a missing account.
    pub async fn verify(&self, attempt: &Password, stored: Option<&str>) -> Result<bool, HashError> {
        if !attempt.is_hashable() {
            // Can never match a stored hash; bcrypt would reject or truncate it. The answer does not
            // depend on the account, so answering quickly reveals nothing about it.
            return Ok(false);
        }
        if let Some(stored) = stored {
            if let Err(problem) = check_stored_hash(stored, MAX_STORED_COST.max(self.cost)) {
                // A hash no password can match here (an edited import, a damaged record): a wrong
                // password, logged — never a 500, never minutes of one bcrypt thread.
                tracing::error!(problem, "a stored password hash cannot be verified; the login is refused");
                return Ok(false);
            }
        }
        let exists = stored.is_some();
        let hash = stored.map_or_else(|| self.dummy_hash.to_string(), str::to_owned);
        let attempt = attempt.expose().to_owned();
        let matches = self.run("verify", move || bcrypt::verify(attempt, &hash)).await?;
        Ok(exists && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        operation: &'static str,
        work: impl FnOnce() -> Result<T, bcrypt::BcryptError> + Send + 'static,
    ) -> Result<T, HashError> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let queued = GaugeGuard::new(metrics::gauge!(names::BCRYPT_QUEUED));
        let job: Job = Box::new(move || {
            drop(queued);
            if reply.is_closed() {
                return;
            }
            let _running = GaugeGuard::new(metrics::gauge!(names::BCRYPT_RUNNING));
            let started = std::time::Instant::now();
            let result = work();
            metrics::histogram!(names::BCRYPT_DURATION, "operation" => operation)
                .record(started.elapsed().as_secs_f64());
            let _ = reply.send(result);
        });
        self.jobs.send(job).map_err(|_| HashError::Thread("the bcrypt threads have stopped".into()))?;
        Ok(answer.await.map_err(|_| HashError::Thread("a bcrypt thread stopped mid-job".into()))??)
    }
}

/// Puts the calling thread at the lowest priority there is: `SCHED_IDLE` on Linux, whose threads give up
/// the core as soon as any other thread wakes (measured with `bench/run`: read p99 during a login flood
/// 5× the idle one, against 7× at `nice` 19), elsewhere the lowest priority of the normal policy. The
/// price: while requests keep every core busy, logins wait. Failing to is not fatal: bcrypt then
/// competes with requests as an ordinary thread.
fn lower_priority() {
    use thread_priority::ThreadPriority;
    #[cfg(target_os = "linux")]
    let lowered = thread_priority::set_thread_priority_and_policy(
        thread_priority::thread_native_id(),
        ThreadPriority::Min,
        thread_priority::ThreadSchedulePolicy::Normal(thread_priority::NormalThreadSchedulePolicy::Idle),
    );
    #[cfg(not(target_os = "linux"))]
    let lowered = thread_priority::set_current_thread_priority(ThreadPriority::Min);
    if let Err(e) = lowered {
        tracing::warn!(error = ?e, "could not lower the priority of a bcrypt thread");
    }
}

/// The most expensive stored hash msgd verifies, unless `BCRYPT_COST` is higher: cost 16 takes 16 times
/// cost 12 (seconds per login, on one of the bcrypt threads). A dearer hash — which only an edited export
/// could bring — is refused at import and never verified.
pub const MAX_STORED_COST: u32 = 16;

/// Whether `hash` is a bcrypt hash msgd can verify: `$2a$`, `$2b$`, `$2x$` or `$2y$`, a cost from 4 to
/// `max_cost`, `$`, and 53 characters of bcrypt's base64 (salt and digest).
pub fn check_stored_hash(hash: &str, max_cost: u32) -> Result<(), String> {
    let cost = hash_cost(hash).ok_or("it is not a bcrypt hash ($2b$NN$…)")?;
    let rest = &hash[6.min(hash.len())..];
    let alphabet = |b: u8| b == b'.' || b == b'/' || b.is_ascii_alphanumeric();
    if hash.len() != 60 || !rest.starts_with('$') || !rest.bytes().skip(1).all(alphabet) {
        return Err("it is not a bcrypt hash: 60 characters, $2b$NN$ and 53 of bcrypt's base64".into());
    }
    if !(4..=max_cost).contains(&cost) {
        return Err(format!("its cost {cost} is outside 4 to {max_cost}"));
    }
    Ok(())
}

/// The cost a bcrypt hash was made with (`$2b$12$…` is 12), if it is one.
pub fn hash_cost(hash: &str) -> Option<u32> {
    let mut parts = hash.split('$');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some("2a" | "2b" | "2x" | "2y"), Some(cost)) if cost.len() == 2 => cost.parse().ok(),
        _ => None,
    }
}

/// What a login token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user's id.
    pub sub: Uuid,
    /// Issued at, seconds since the epoch.
    pub iat: u64,
    /// Expires at, seconds since the epoch.
    pub exp: u64,
    pub iss: String,
    pub aud: String,
    /// The user's token version when issued; bumping it revokes every older token.
    pub ver: u32,
    /// The session (one login): ending it revokes this token and no other. Tokens issued before sessions
    /// existed have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<Uuid>,
}

impl Claims {
    /// When the token expires.
    pub fn expires_at(&self) -> time::OffsetDateTime {
        time::OffsetDateTime::from_unix_timestamp(self.exp as i64).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }
}

/// Why a token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("token has expired")]
    Expired,
    #[error("token is malformed or its signature is invalid")]
    Invalid,
}

/// Signs and checks HS256 login tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
    /// Tokens whose signature and claims were checked, with their claims: a token is presented on every
    /// request of its session, and checking it again (base64, HMAC, JSON) was 7 % of a list request's CPU
    /// (bench/run, perf). Only the expiry depends on the time; it is checked on every use.
    verified: Arc<Mutex<HashMap<Box<str>, Claims>>>,
}

/// How many checked tokens [`TokenKeys`] remembers; past it, it starts afresh.
const VERIFIED_TOKENS: usize = 4096;

impl TokenKeys {
    /// Keys from a secret of at least [`MIN_SECRET_BYTES`].
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        assert!(secret.len() >= MIN_SECRET_BYTES, "token secret too short");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[TOKEN_ISSUER]);
        validation.set_audience(&[TOKEN_ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
            verified: Arc::default(),
        }
    }

    /// The lifetime of issued tokens.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a token for a new session of `user` at token version `ver`.
    pub fn issue(&self, user: Uuid, ver: u32) -> String {
        let now = unix_now();
        let claims = Claims {
            sub: user,
            iat: now,
            exp: now + self.ttl.as_secs(),
            iss: TOKEN_ISSUER.to_owned(),
            aud: TOKEN_ISSUER.to_owned(),
            ver,
            sid: Some(Uuid::new_v4()),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HMAC signing of a serializable struct cannot fail")
    }

    /// Checks the signature, algorithm, issuer, audience and expiry of `token`.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if let Some(claims) = self.verified.lock().expect("verified tokens lock").get(token) {
            // As jsonwebtoken decides it: expired once `exp` is more than the leeway in the past.
            return if claims.exp < unix_now().saturating_sub(LEEWAY_SECS) {
                Err(TokenError::Expired)
            } else {
                Ok(claims.clone())
            };
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })?;
        let mut verified = self.verified.lock().expect("verified tokens lock");
        if verified.len() >= VERIFIED_TOKENS {
            verified.clear();
        }
        verified.insert(token.into(), claims.clone());
        Ok(claims)
    }
}

/// The signing keys, once the secret is known: a generated secret lives in the database, which may not be
/// reachable yet when msgd starts.
#[derive(Default)]
pub struct SigningKeys(OnceLock<TokenKeys>);

impl SigningKeys {
    /// Keys available from the start (`JWT_SECRET`, or a secret already read).
    pub fn ready(keys: TokenKeys) -> Self {
        let cell = OnceLock::new();
        let _ = cell.set(keys);
        Self(cell)
    }

    /// The keys, if the secret is known.
    pub fn get(&self) -> Option<&TokenKeys> {
        self.0.get()
    }

    /// Sets the keys once the secret is known; later calls change nothing.
    pub fn set(&self, keys: TokenKeys) {
        let _ = self.0.set(keys);
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(&[7u8; 32], Duration::from_secs(3600))
    }

    fn forge(header: &str, claims: serde_json::Value, secret: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let signing_input = format!("{}.{}", B64.encode(header), B64.encode(claims.to_string()));
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(signing_input.as_bytes());
        format!("{signing_input}.{}", B64.encode(mac.finalize().into_bytes()))
    }

    fn claims_json(exp: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "sub": Uuid::nil(), "iat": unix_now(), "exp": exp,
            "iss": TOKEN_ISSUER, "aud": TOKEN_ISSUER, "ver": 0
        })
    }

    /// Guards the `rust_crypto` feature: without a crypto backend jsonwebtoken compiles, then panics here.
    #[test]
    fn a_token_signs_and_verifies() {
        let keys = keys();
        let user = Uuid::new_v4();
        let token = keys.issue(user, 3);
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.ver), (user, 3));
        assert_eq!(claims.exp - claims.iat, 3600);
    }

    #[test]
    fn a_checked_token_is_remembered_until_it_expires_and_a_bad_one_never_is() {
        let keys = keys();
        let token = keys.issue(Uuid::new_v4(), 1);
        assert_eq!(keys.verify(&token), keys.verify(&token));
        let forged = format!("{}x", token);
        assert_eq!((keys.verify(&forged), keys.verify(&forged)), (Err(TokenError::Invalid), Err(TokenError::Invalid)));
        assert_eq!(keys.verified.lock().unwrap().len(), 1);
        // Its lifetime passes (as if the clock moved on): the remembered claims say it has expired.
        keys.verified.lock().unwrap().get_mut(token.as_str()).unwrap().exp = unix_now() - LEEWAY_SECS - 1;
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn a_token_signed_with_another_key_is_invalid() {
        let other = TokenKeys::new(&[8u8; 32], Duration::from_secs(3600));
        assert_eq!(keys().verify(&other.issue(Uuid::nil(), 0)), Err(TokenError::Invalid));
    }

    #[test]
    fn a_tampered_token_is_invalid() {
        let token = keys().issue(Uuid::nil(), 0);
        let (head, sig) = token.rsplit_once('.').unwrap();
        let payload = head.split_once('.').unwrap().1;
        let mut claims: serde_json::Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
        claims["ver"] = 99.into();
        let forged = format!("{}.{}.{sig}", head.split_once('.').unwrap().0, B64.encode(claims.to_string()));
        assert_eq!(keys().verify(&forged), Err(TokenError::Invalid));
    }

    #[test]
    fn an_expired_token_is_reported_as_expired() {
        let exp = unix_now() - LEEWAY_SECS - 10;
        let token = forge(r#"{"alg":"HS256","typ":"JWT"}"#, claims_json(exp.into()), &[7u8; 32]);
        assert_eq!(keys().verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn only_hs256_headers_are_accepted() {
        let claims = claims_json((unix_now() + 600).into());
        for header in [r#"{"alg":"none","typ":"JWT"}"#, r#"{"alg":"HS512","typ":"JWT"}"#, r#"{"alg":"RS256"}"#] {
            let token = forge(header, claims.clone(), &[7u8; 32]);
            assert_eq!(keys().verify(&token), Err(TokenError::Invalid), "{header}");
        }
        let unsigned = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), B64.encode(claims.to_string()));
        assert_eq!(keys().verify(&unsigned), Err(TokenError::Invalid));
    }

    #[test]
    fn a_mistyped_or_missing_expiry_is_invalid() {
        let header = r#"{"alg":"HS256","typ":"JWT"}"#;
        let far = (unix_now() + 600).to_string();
        let token = forge(header, claims_json(far.into()), &[7u8; 32]);
        assert_eq!(keys().verify(&token), Err(TokenError::Invalid));
        let mut no_exp = claims_json(0.into());
        no_exp.as_object_mut().unwrap().remove("exp");
        assert_eq!(keys().verify(&forge(header, no_exp, &[7u8; 32])), Err(TokenError::Invalid));
    }

    #[test]
    fn a_token_for_another_audience_is_invalid() {
        let mut claims = claims_json((unix_now() + 600).into());
        claims["aud"] = "someone-else".into();
        let token = forge(r#"{"alg":"HS256"}"#, claims, &[7u8; 32]);
        assert_eq!(keys().verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn generated_passwords_are_long_and_distinct() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.expose().len(), GENERATED_PASSWORD_LEN);
        assert!(a.expose().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn hashing_and_verifying_agree_and_a_missing_account_never_matches() {
        let hasher = PasswordHasher::new(4, 2).await.unwrap();
        let password = NewPassword::parse("correct horse").unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hasher.verify(password.as_password(), Some(&hash)).await.unwrap());
        assert!(!hasher.verify(&Password::new("wrong horse"), Some(&hash)).await.unwrap());
        assert!(!hasher.verify(password.as_password(), None).await.unwrap());
        assert!(!hasher.verify(&Password::new("x".repeat(73)), Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn a_stored_hash_that_cannot_be_verified_is_a_wrong_password_not_an_error() {
        let hasher = PasswordHasher::new(4, 2).await.unwrap();
        let password = Password::new("correct horse");
        for stored in [
            "$2b$99$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
            "$2b$12$!!cdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
            // Cost 31 would hold a bcrypt thread for days.
            "$2b$31$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234",
            "not a hash",
        ] {
            assert!(!hasher.verify(&password, Some(stored)).await.unwrap(), "{stored}");
        }
        assert_eq!(check_stored_hash("$2b$16$abcdefghijklmnopqrstuuabcdefghijklmnopqrstuvwxyz01234", 16), Ok(()));
        assert_eq!(hash_cost("$2y$05$abc"), Some(5));
    }

    #[tokio::test]
    async fn the_hashing_threads_run_jobs_at_the_same_time() {
        let hasher = PasswordHasher::new(4, 2).await.unwrap();
        // Two jobs that can only finish together: each says it started and waits to hear the other has.
        let (a_tx, a_rx) = std::sync::mpsc::channel();
        let (b_tx, b_rx) = std::sync::mpsc::channel();
        let meet = |tell: std::sync::mpsc::Sender<()>, hear: std::sync::mpsc::Receiver<()>| {
            move || {
                tell.send(()).unwrap();
                Ok(hear.recv_timeout(Duration::from_secs(10)).is_ok())
            }
        };
        let (a, b) = tokio::join!(hasher.run("test", meet(a_tx, b_rx)), hasher.run("test", meet(b_tx, a_rx)));
        assert!(a.unwrap() && b.unwrap(), "the two jobs ran one after the other");
    }

    #[tokio::test]
    async fn all_72_bytes_of_a_password_count() {
        let hasher = PasswordHasher::new(4, 1).await.unwrap();
        let password = NewPassword::parse("x".repeat(72)).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hasher.verify(password.as_password(), Some(&hash)).await.unwrap());
        let last_byte_differs = format!("{}y", "x".repeat(71));
        assert!(!hasher.verify(&Password::new(last_byte_differs), Some(&hash)).await.unwrap());
        // Longer attempts never reach bcrypt, which would truncate them to the stored password.
        assert!(!hasher.verify(&Password::new("x".repeat(73)), Some(&hash)).await.unwrap());
    }
}
