//! A generated population with known ground truth, for measuring identity
//! resolution: people with several devices, accounts, emails and phones
//! written in different ways, households sharing a computer, and clients
//! that send placeholder values ("null", "anonymous") as identities.

use std::collections::{BTreeMap, BTreeSet};

use cairn_core::event::{Kind, Message};
use cairn_core::graph::{Change, Graph};
use cairn_core::identity::{Config, IdType};
use cairn_core::resolve::Rules;
use serde_json::{Map, Value, json};

/// A small deterministic generator (xorshift64*), so runs are comparable.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// One generated event and the person it truly belongs to.
pub struct Event {
    pub message: Message,
    pub person: usize,
    /// Whether the rules can tell whose event it is: it carries a strong
    /// identifier, or comes from a device of one person that logged in.
    pub resolvable: bool,
}

pub struct Population {
    pub events: Vec<Event>,
    pub people: usize,
}

fn email_variant(rng: &mut Rng, email: &str) -> String {
    match rng.below(3) {
        0 => email.to_owned(),
        1 => email.to_uppercase(),
        _ => format!("  {email} "),
    }
}

fn phone_variant(rng: &mut Rng, national: u64) -> String {
    let (a, b, c) = (national / 10_000_000, national / 10_000 % 1000, national % 10_000);
    match rng.below(3) {
        0 => format!("+1{a}{b:03}{c:04}"),
        1 => format!("({a}) {b:03}-{c:04}"),
        _ => format!("1-{a}-{b:03}-{c:04}"),
    }
}

const PLACEHOLDERS: &[&str] = &["null", "undefined", "anonymous", "0", "-1", ""];

/// `people` people; about 5% of households share a computer.
pub fn generate(people: usize, seed: u64) -> Population {
    let mut rng = Rng::new(seed);
    let mut timeline: Vec<(i64, Event)> = Vec::new();
    let mut shared: Option<(String, usize)> = None;
    for person in 0..people {
        let has_account = rng.chance(70);
        let user_id = format!("user-{person}");
        let email = format!("person{person}@example.com");
        let phone = rng.chance(50).then(|| 2_000_000_000 + (person as u64) * 7 + 3_000_000);
        let devices = 1 + rng.below(3) as usize;
        let start = rng.below(1_000_000) as i64;
        for d in 0..devices {
            // A shared family computer: a device of the previous person.
            let (anon, is_shared) = match shared.take() {
                Some((anon, owner)) if d == 0 && owner + 1 == person => (anon, true),
                other => {
                    shared = other;
                    (format!("device-{person}-{d}"), false)
                }
            };
            // Lent to the next person: then nobody can tell whose the anonymous events are.
            let lent = !is_shared && rng.chance(5);
            if lent {
                shared = Some((anon.clone(), person));
            }
            let is_shared = is_shared || lent;
            let logs_in = rng.chance(80);
            let mut t = start + (d as i64) * 50_000 + rng.below(10_000) as i64;
            let mut push = |rng: &mut Rng, t: &mut i64, message: Message, resolvable: bool| {
                *t += 1 + rng.below(5_000) as i64;
                timeline.push((*t, Event { message, person, resolvable }));
            };
            // Anonymous browsing first: attributable only when this device
            // logs in later and is not shared.
            for _ in 0..(1 + rng.below(4)) {
                let mut m = Message::new(Kind::Track, String::new(), 0);
                m.event = Some("Product Viewed".into());
                m.anonymous_id = Some(anon.clone());
                push(&mut rng, &mut t, m, logs_in && !is_shared);
            }
            if !logs_in {
                continue;
            }
            let mut identify = Message::new(Kind::Identify, String::new(), 0);
            identify.anonymous_id = Some(anon.clone());
            let mut traits = Map::new();
            traits.insert("email".into(), Value::from(email_variant(&mut rng, &email)));
            if let Some(p) = phone {
                traits.insert("phone".into(), Value::from(phone_variant(&mut rng, p)));
            }
            traits.insert("device".into(), json!(d));
            identify.traits = traits;
            if has_account {
                identify.user_id = Some(user_id.clone());
            } else if rng.chance(30) {
                // A client bug: a placeholder instead of no user id.
                identify.user_id = Some(PLACEHOLDERS[rng.below(PLACEHOLDERS.len() as u64) as usize].into());
            }
            push(&mut rng, &mut t, identify, true);
            for _ in 0..(1 + rng.below(4)) {
                let mut m = Message::new(Kind::Track, String::new(), 0);
                m.event = Some("Product Added".into());
                m.anonymous_id = Some(anon.clone());
                if has_account {
                    m.user_id = Some(user_id.clone());
                }
                // After a shared device's second login, only the user id says who it is.
                push(&mut rng, &mut t, m, !is_shared || has_account);
            }
        }
    }
    timeline.sort_by_key(|(t, _)| *t);
    let events = timeline
        .into_iter()
        .enumerate()
        .map(|(n, (t, mut e))| {
            e.message.timestamp = t;
            e.message.message_id = format!("m{n}");
            e
        })
        .collect();
    Population { events, people }
}

/// What resolving a population gave.
pub struct Accuracy {
    pub events: usize,
    pub resolvable: usize,
    pub precision: f64,
    pub recall: f64,
    /// Pairwise precision over every event, the unresolvable ones included.
    pub precision_all: f64,
    /// Profiles holding strong identifiers (user id, email, phone) of more than one person.
    pub false_merges: usize,
    pub profiles: usize,
    pub merges: usize,
}

fn pairs(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Runs the population through the graph in arrival order and compares the
/// profiles with the truth. Returns the graph too, for timing.
pub fn resolve(pop: &Population) -> (Accuracy, Graph) {
    let config = Config::default();
    let mut graph = Graph::new(Rules::default());
    let mut next = 0u64;
    let mut new_id = || {
        next += 1;
        format!("p{next}")
    };
    let mut assigned: Vec<Option<String>> = Vec::with_capacity(pop.events.len());
    let mut redirect: BTreeMap<String, String> = BTreeMap::new();
    let mut merges = 0;
    for e in &pop.events {
        let applied = graph.apply_message(&e.message, &config, &mut new_id);
        if let Some(a) = &applied {
            for c in &a.changes {
                if let Change::Merged { into, from, .. } = c {
                    redirect.insert(from.clone(), into.clone());
                    merges += 1;
                }
            }
        }
        assigned.push(applied.map(|a| a.profile));
    }
    let survivor = |p: &String| {
        let mut p = p.clone();
        while let Some(next) = redirect.get(&p) {
            p = next.clone();
        }
        p
    };
    // Pairwise precision and recall over the resolvable events.
    let mut cells: BTreeMap<(usize, String), u64> = BTreeMap::new();
    let mut truth: BTreeMap<usize, u64> = BTreeMap::new();
    let mut predicted: BTreeMap<String, u64> = BTreeMap::new();
    let mut resolvable = 0;
    let mut all_cells: BTreeMap<(usize, String), u64> = BTreeMap::new();
    let mut all_predicted: BTreeMap<String, u64> = BTreeMap::new();
    for (e, p) in pop.events.iter().zip(&assigned) {
        let Some(p) = p.as_ref().map(survivor) else { continue };
        *all_cells.entry((e.person, p.clone())).or_default() += 1;
        *all_predicted.entry(p.clone()).or_default() += 1;
        if !e.resolvable {
            continue;
        }
        resolvable += 1;
        *cells.entry((e.person, p.clone())).or_default() += 1;
        *truth.entry(e.person).or_default() += 1;
        *predicted.entry(p).or_default() += 1;
    }
    let tp: u64 = cells.values().map(|&n| pairs(n)).sum();
    let pred: u64 = predicted.values().map(|&n| pairs(n)).sum();
    let real: u64 = truth.values().map(|&n| pairs(n)).sum();
    let all_tp: u64 = all_cells.values().map(|&n| pairs(n)).sum();
    let all_pred: u64 = all_predicted.values().map(|&n| pairs(n)).sum();
    // False merges: strong identifiers of two people in one profile.
    let owner_of = |kind: &IdType, value: &str| -> Option<usize> {
        let digits = |s: &str| s.trim_start_matches(|c: char| !c.is_ascii_digit()).parse::<usize>().ok();
        match kind {
            IdType::UserId => value.strip_prefix("user-").and_then(digits),
            IdType::Email => value.strip_prefix("person").and_then(|v| v.split('@').next()).and_then(digits),
            IdType::Phone => value
                .strip_prefix("+1")
                .and_then(|v| v.parse::<u64>().ok())
                .map(|n| ((n - 2_000_000_000 - 3_000_000) / 7) as usize),
            _ => None,
        }
    };
    let mut false_merges = 0;
    for (_, p) in graph.profiles() {
        let people: BTreeSet<usize> = p.identifiers.iter().filter_map(|i| owner_of(&i.kind, &i.value)).collect();
        if people.len() > 1 {
            false_merges += 1;
        }
    }
    let accuracy = Accuracy {
        events: pop.events.len(),
        resolvable,
        precision: if pred == 0 { 1.0 } else { tp as f64 / pred as f64 },
        recall: if real == 0 { 1.0 } else { tp as f64 / real as f64 },
        precision_all: if all_pred == 0 { 1.0 } else { all_tp as f64 / all_pred as f64 },
        false_merges,
        profiles: graph.profiles().count(),
        merges,
    };
    (accuracy, graph)
}

/// The identity section of BENCHMARKS.md: accuracy on a generated
/// population and stitching throughput in cairn-core.
pub fn report(people: usize, seed: u64) -> String {
    let pop = generate(people, seed);
    let started = std::time::Instant::now();
    let (a, _) = resolve(&pop);
    let secs = started.elapsed().as_secs_f64();
    let (a2, _) = resolve(&pop);
    let rate = a.events as f64 / secs;
    format!(
        "| measure | value |\n|---|---|\n\
         | people / events | {people} / {} ({} resolvable by the rules) |\n\
         | profiles / merges | {} / {} |\n\
         | pairwise precision, resolvable events | {:.4}% |\n\
         | pairwise recall, resolvable events | {:.4}% |\n\
         | pairwise precision, all events | {:.4}% |\n\
         | false merges (strong ids of two people in one profile) | {} |\n\
         | stitching throughput in cairn-core (one thread, whole run incl. scoring) | {:.0} events/s |\n\
         | same result on a second run | {} |\n",
        a.events,
        a.resolvable,
        a.profiles,
        a.merges,
        a.precision * 100.0,
        a.recall * 100.0,
        a.precision_all * 100.0,
        a.false_merges,
        rate,
        a2.precision == a.precision && a2.recall == a.recall,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_resolve_a_small_population_exactly() {
        let pop = generate(300, 7);
        let (a, _) = resolve(&pop);
        assert_eq!(a.false_merges, 0, "false merges");
        assert!(a.precision == 1.0 && a.recall == 1.0, "precision {} recall {}", a.precision, a.recall);
        assert!(a.merges > 0 && a.resolvable < a.events, "the population exercises merges and unresolvable events");
    }
}
