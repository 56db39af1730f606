//! Parity with newer Prisma behaviour that changes what deploys: enum values added and used in one
//! migration (Prisma 7.4+ runs statements one by one; `--tx-mode auto` detects the case) and the
//! order of migration folders (Prisma 6.6+ sorts with `localeCompare`, not bytes).

use crate::contract;
use crate::support::*;

const ENUM_BASE: &str = "CREATE TYPE \"Role\" AS ENUM ('USER');\nCREATE TABLE \"member\" (\"role\" \"Role\" NOT NULL);\n";
const ENUM_ADD_THEN_USE: &str =
    "ALTER TYPE \"Role\" ADD VALUE 'GUEST';\nINSERT INTO \"member\" (\"role\") VALUES ('GUEST');\n";

#[test]
fn enum_value_added_then_used_deploys_statement_by_statement_in_auto_mode() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_roles", ENUM_BASE)
        .add("20240102000000_guest", ENUM_ADD_THEN_USE);
    let run = run(db.url(), m.path(), &["deploy", "--json"]);
    run.success();
    let report = contract::deploy(&run.stdout);
    let step = report
        .plan
        .iter()
        .find(|p| p.name == "20240102000000_guest")
        .expect("planned");
    assert_eq!(step.execution, "statement_by_statement", "{run}");
    assert!(
        step.reason.as_deref().unwrap_or("").contains("55P04"),
        "{run}"
    );
    assert!(run.stderr.contains("not atomic"), "{run}");
    assert_eq!(db.enum_values("Role"), ["USER", "GUEST"]);
    assert_eq!(db.count("member"), 1);
    assert_eq!(db.applied_migrations().len(), 2, "{run}");
}

#[test]
fn enum_value_added_then_used_in_one_transaction_names_the_cure() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("20240101000000_roles", ENUM_BASE)
        .add("20240102000000_guest", ENUM_ADD_THEN_USE);
    let run = run(
        db.url(),
        m.path(),
        &["deploy", "--json", "--tx-mode", "always"],
    );
    run.expect_code(11);
    let error = contract::deploy(&run.stdout).error.expect("error");
    assert!(error.message.contains("55P04"), "{run}");
    assert!(
        error.hint.contains("-- prisma-release: no-transaction"),
        "{run}"
    );
    assert!(error.hint.contains("--tx-mode never"), "{run}");
    assert_eq!(db.enum_values("Role"), ["USER"], "rolled back");
    assert_eq!(db.applied_migrations(), ["20240101000000_roles"]);
}

/// `1_init` < `10_add` for `localeCompare` (`_` sorts before digits), the other way round in bytes:
/// applying in byte order would alter a table that does not exist yet.
#[test]
fn folders_are_applied_in_prismas_locale_order() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("1_init", "CREATE TABLE \"t\" (id int);\n")
        .add("10_add", "ALTER TABLE \"t\" ADD COLUMN \"x\" int;\n")
        .add("2_a", "CREATE TABLE \"lower\" (id int);\n")
        .add("2_A", "ALTER TABLE \"lower\" ADD COLUMN \"x\" int;\n");
    let run = run(db.url(), m.path(), &["deploy", "--json"]);
    run.success();
    let report = contract::deploy(&run.stdout);
    let order: Vec<&str> = report.migrations.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(order, ["1_init", "10_add", "2_a", "2_A"], "{run}");
    assert_eq!(db.applied_migrations(), ["1_init", "10_add", "2_a", "2_A"]);
    assert!(db.column_exists("t", "x") && db.column_exists("lower", "x"));
    assert!(
        run.stderr
            .contains("`1_init` is applied before `10_add`, as Prisma 6.6+ orders them"),
        "{run}"
    );
}

#[test]
fn names_whose_locale_order_is_uncertain_are_refused_with_both_names() {
    let db = fresh_db();
    let m = Migrations::new();
    m.add("3_é", "CREATE TABLE \"e\" (id int);\n")
        .add("3_f", "CREATE TABLE \"f\" (id int);\n");
    let run = run(db.url(), m.path(), &["deploy", "--json"]);
    run.expect_code(3);
    let error = contract::deploy(&run.stdout).error.expect("error");
    assert_eq!(error.id, "migrations/order_uncertain", "{run}");
    assert!(
        error.message.contains("3_é") && error.message.contains("3_f"),
        "{run}"
    );
    assert!(!db.table_exists("_prisma_migrations"), "{run}");
}
