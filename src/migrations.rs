//! The migrations folder: which migrations exist locally, their scripts and checksums, and the
//! `migration_lock.toml` provider check. Pure file reading — no database here.
//!
//! Checksums must equal Prisma's byte for byte (prisma-compat §2): lowercase hex SHA-256 of the file's
//! raw bytes. Comparison accepts what Prisma accepts: the CRLF→LF and LF→CRLF variants and the legacy
//! unpadded hex form, so a checkout with other line endings does not look "modified".

use crate::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The UTF-8 byte order mark: hashed (Prisma hashes it) but never sent to the server.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One migration directory.
#[derive(Debug, Clone)]
pub struct LocalMigration {
    /// The directory name, verbatim: the `migration_name` column.
    pub name: String,
    pub dir: PathBuf,
    /// The script, or why it cannot be used. Only pending migrations must have a usable script.
    pub script: Result<Script, ScriptProblem>,
}

/// A readable `migration.sql`.
#[derive(Debug, Clone)]
pub struct Script {
    pub bytes: Vec<u8>,
    pub checksum: String,
}

/// Why a migration's script cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptProblem {
    Missing,
    Unreadable(String),
}

impl Script {
    fn new(bytes: Vec<u8>) -> Script {
        let checksum = checksum(&bytes);
        Script { bytes, checksum }
    }

    /// The SQL to send: the file as UTF-8 without a leading BOM. `Err(offset)` for invalid UTF-8.
    pub fn sql(&self) -> std::result::Result<&str, usize> {
        let body = self.bytes.strip_prefix(BOM).unwrap_or(&self.bytes);
        std::str::from_utf8(body).map_err(|e| e.valid_up_to() + self.bytes.len() - body.len())
    }

    /// Does the recorded checksum match this script (Prisma's accepted variants)?
    pub fn matches(&self, recorded: &str) -> bool {
        self.checksum == recorded || checksum_matches(&self.bytes, recorded)
    }
}

impl LocalMigration {
    /// The SQL of a migration about to be applied, or the configuration error that forbids applying it.
    pub fn sql_for_apply(&self) -> Result<&str> {
        let script = self.script.as_ref().map_err(|problem| match problem {
            ScriptProblem::Missing => Error::MigrationFileMissing {
                name: self.name.clone(),
            },
            ScriptProblem::Unreadable(cause) => Error::MigrationFileUnreadable {
                name: self.name.clone(),
                cause: cause.clone(),
            },
        })?;
        script.sql().map_err(|offset| Error::MigrationFileNotUtf8 {
            name: self.name.clone(),
            offset,
        })
    }

    /// A migration whose script is `sql`, for unit tests of code that plans over migrations.
    #[cfg(test)]
    pub(crate) fn from_sql(name: &str, sql: &str) -> LocalMigration {
        LocalMigration {
            name: name.into(),
            dir: name.into(),
            script: Ok(Script::new(sql.as_bytes().to_vec())),
        }
    }

    /// The local checksum, when the script could be read.
    pub fn checksum(&self) -> Option<&str> {
        self.script.as_ref().ok().map(|s| s.checksum.as_str())
    }
}

/// Lowercase hex SHA-256, as Prisma stores it.
pub fn checksum(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes), true)
}

fn hex(digest: &[u8], padded: bool) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = if padded {
            write!(out, "{byte:02x}")
        } else {
            write!(out, "{byte:x}")
        };
    }
    out
}

/// Prisma's `script_matches_checksum`: the file as is, with every CRLF turned into LF, or with every
/// LF turned into CRLF (naively, as Prisma does); a non-empty stored value whose length is not 64 is
/// the legacy unpadded form.
pub fn checksum_matches(bytes: &[u8], recorded: &str) -> bool {
    let padded = recorded.is_empty() || recorded.len() == 64;
    let variants = [
        bytes.to_vec(),
        replace(bytes, b"\r\n", b"\n"),
        replace(bytes, b"\n", b"\r\n"),
    ];
    variants
        .iter()
        .any(|v| hex(&Sha256::digest(v), padded) == recorded)
}

fn replace(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len() + haystack.len() / 16);
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}

/// Reads the folder: every real sub-directory (symlinks skipped, as Prisma's `Dirent.isDirectory()`
/// does) in Prisma 6.6+'s order of names (`localeCompare`, see [`crate::collation`]; a pair whose
/// order is uncertain is refused), with its `migration.sql` read eagerly. A missing folder is an error,
/// never "no migrations": a slug that lost its migrations must not silently deploy nothing.
pub fn load(folder: &Path) -> Result<Vec<LocalMigration>> {
    let entries = std::fs::read_dir(folder).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::MigrationsDirMissing {
            path: folder.to_path_buf(),
        },
        _ => Error::MigrationsDirUnreadable {
            path: folder.to_path_buf(),
            cause: e.to_string(),
        },
    })?;
    let mut migrations = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::MigrationsDirUnreadable {
            path: folder.to_path_buf(),
            cause: e.to_string(),
        })?;
        let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
        if !is_dir {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let dir = entry.path();
        let script = read_script(&dir.join("migration.sql"));
        migrations.push(LocalMigration { name, dir, script });
    }
    crate::collation::sort_like_prisma(&mut migrations, |m| &m.name).map_err(
        |(first, second)| Error::Project(crate::project::Problem::OrderUncertain { first, second }),
    )?;
    Ok(migrations)
}

fn read_script(path: &Path) -> Result<Script, ScriptProblem> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Script::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ScriptProblem::Missing),
        Err(e) => Err(ScriptProblem::Unreadable(e.to_string())),
    }
}

/// Checks `migration_lock.toml` when present, parsing it exactly as Prisma does (prisma-compat §3):
/// the first line starting with `provider`, the literal prefix `provider = ` stripped, quotes trimmed.
/// A lock file that exists but cannot be read as text is an error: skipping the check would let a
/// `provider = "mysql"` folder deploy because of one stray byte.
pub fn check_lock_file(folder: &Path) -> Result<()> {
    let content = match std::fs::read(folder.join("migration_lock.toml")) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|e| Error::LockFileUnreadable {
            cause: format!(
                "it is not valid UTF-8 (first bad byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(Error::LockFileUnreadable {
                cause: e.to_string(),
            })
        }
    };
    let provider = content
        .lines()
        .find(|line| line.starts_with("provider"))
        .map(|line| {
            line.strip_prefix("provider = ")
                .unwrap_or(line)
                .trim_matches('"')
                .to_string()
        })
        .unwrap_or_else(|| "<PROVIDER NOT FOUND>".to_string());
    if provider == "postgresql" {
        Ok(())
    } else {
        Err(Error::ProviderMismatch { found: provider })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer_hello() {
        assert_eq!(
            checksum(b"hello"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
    }

    #[test]
    fn crlf_variants_match_both_ways() {
        let lf = b"CREATE TABLE a();\nCREATE TABLE b();\n";
        let crlf = b"CREATE TABLE a();\r\nCREATE TABLE b();\r\n";
        assert!(
            checksum_matches(crlf, &checksum(lf)),
            "CRLF checkout of an LF-recorded file"
        );
        assert!(
            checksum_matches(lf, &checksum(crlf)),
            "LF checkout of a CRLF-recorded file"
        );
        assert!(!checksum_matches(b"CREATE TABLE c();\n", &checksum(lf)));
    }

    #[test]
    fn mixed_endings_follow_prismas_naive_rule() {
        // LF→CRLF turns an existing CRLF into CR CR LF, so this recorded form matches no variant.
        let mixed = b"a\r\nb\n";
        let recorded = checksum(b"a\r\nb\r\n");
        assert!(!checksum_matches(mixed, &recorded));
    }

    #[test]
    fn legacy_unpadded_checksums_match() {
        let bytes = b"hello";
        let unpadded = hex(&Sha256::digest(bytes), false);
        assert!(
            unpadded.len() < 64,
            "test vector must contain a byte below 0x10"
        );
        assert!(checksum_matches(bytes, &unpadded));
        assert!(!checksum_matches(bytes, ""));
    }

    #[test]
    fn bom_is_hashed_but_not_sent() {
        let script = Script::new(b"\xEF\xBB\xBFSELECT 1;".to_vec());
        assert_eq!(script.sql(), Ok("SELECT 1;"));
        assert_eq!(script.checksum, checksum(b"\xEF\xBB\xBFSELECT 1;"));
        assert_ne!(script.checksum, checksum(b"SELECT 1;"));
    }

    #[test]
    fn invalid_utf8_reports_offset_in_file() {
        let script = Script::new(b"\xEF\xBB\xBFab\xFF".to_vec());
        assert_eq!(script.sql(), Err(5));
    }

    #[test]
    fn load_orders_like_prisma_and_skips_files_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        for name in ["b_two", "B_one", "a_three"] {
            std::fs::create_dir(tmp.path().join(name)).unwrap();
            std::fs::write(tmp.path().join(name).join("migration.sql"), name).unwrap();
        }
        std::fs::create_dir(tmp.path().join("c_empty")).unwrap();
        std::fs::write(
            tmp.path().join("migration_lock.toml"),
            "provider = \"postgresql\"\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(tmp.path().join("b_two"), tmp.path().join("d_link")).unwrap();
        let loaded = load(tmp.path()).unwrap();
        let names: Vec<_> = loaded.iter().map(|m| m.name.as_str()).collect();
        // Prisma 6.6+'s localeCompare: case is compared last (bytes would put `B_one` first).
        assert_eq!(names, ["a_three", "B_one", "b_two", "c_empty"]);
        assert_eq!(
            loaded[3].script.as_ref().unwrap_err(),
            &ScriptProblem::Missing
        );
        assert!(matches!(
            loaded[3].sql_for_apply(),
            Err(Error::MigrationFileMissing { .. })
        ));
    }

    #[test]
    fn missing_folder_is_an_error() {
        let err = load(Path::new("/nonexistent/prisma/migrations")).unwrap_err();
        assert!(matches!(err, Error::MigrationsDirMissing { .. }));
    }

    #[test]
    fn lock_file_parsing_matches_prisma() {
        let tmp = tempfile::tempdir().unwrap();
        let write = |s: &str| std::fs::write(tmp.path().join("migration_lock.toml"), s).unwrap();
        assert!(check_lock_file(tmp.path()).is_ok(), "absent file: no check");
        write("# Please do not edit this file manually\nprovider = \"postgresql\"\n");
        assert!(check_lock_file(tmp.path()).is_ok());
        write("provider = \"mysql\"\n");
        assert!(
            matches!(check_lock_file(tmp.path()), Err(Error::ProviderMismatch { found }) if found == "mysql")
        );
        write("provider=\"postgresql\"\n");
        assert!(
            check_lock_file(tmp.path()).is_err(),
            "Prisma needs the exact `provider = ` prefix"
        );
        write("# nothing\n");
        assert!(
            matches!(check_lock_file(tmp.path()), Err(Error::ProviderMismatch { found }) if found == "<PROVIDER NOT FOUND>")
        );
    }
}
