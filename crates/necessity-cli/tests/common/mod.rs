//! What the service tests share: a fresh database per test (a SQLite file in its own folder,
//! or a PostgreSQL schema of its own) and temporary folders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use necessity_cli::service::store::Backend;
use necessity_engine::{Library, Pack};
use std::sync::atomic::{AtomicU32, Ordering};

static NEXT: AtomicU32 = AtomicU32::new(0);

pub fn library() -> Library {
    let packs = necessity_cli::embedded::pack_sources().iter().map(|(_, s)| Pack::load(s).unwrap()).collect();
    Library::new(packs).unwrap()
}

pub fn postgres_url() -> String {
    std::env::var("NECESSITY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A database of its own: a SQLite file in a fresh folder, or a fresh PostgreSQL schema.
pub async fn fresh_database(backend: Backend) -> (String, Option<tempdir::Dir>) {
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let tag = format!("{}_{}_{n}", std::process::id(), jiff::Timestamp::now().as_nanosecond() % 1_000_000_000);
    match backend {
        Backend::Sqlite => {
            let dir = tempdir::Dir::new(&format!("necessity-svc-{tag}"));
            let url = format!("sqlite://{}?mode=rwc", dir.path.join("necessity.db").display());
            (url, Some(dir))
        }
        Backend::Postgres => {
            let schema = format!("nx_{tag}");
            sqlx::any::install_default_drivers();
            let admin = sqlx::AnyPool::connect(&postgres_url()).await.expect("the local PostgreSQL must be running");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}"))).execute(&admin).await.unwrap();
            let sep = if postgres_url().contains('?') { '&' } else { '?' };
            (format!("{}{sep}options=-c%20search_path%3D{schema}", postgres_url()), None)
        }
    }
}

/// Temporary folders that clean up after themselves.
pub mod tempdir {
    use std::path::PathBuf;

    #[derive(Debug)]
    pub struct Dir {
        pub path: PathBuf,
    }

    impl Dir {
        pub fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(name);
            std::fs::create_dir_all(&path).unwrap();
            Self { path }
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
