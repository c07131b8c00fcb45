//! The database URL, which carries a password: never printed whole.

use std::fmt;

/// A database URL whose `Debug`/`Display` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
    pub fn is_postgres(&self) -> bool {
        self.0.starts_with("postgres://") || self.0.starts_with("postgresql://")
    }
    /// The SQLite file path, when this is a file-backed SQLite URL.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        let rest = self.0.strip_prefix("sqlite://").or_else(|| self.0.strip_prefix("sqlite:"))?;
        let path = rest.split('?').next().unwrap_or(rest);
        (!path.is_empty() && path != ":memory:").then(|| std::path::PathBuf::from(path))
    }
    /// The URL with its password replaced by `***`; one that does not parse loses its whole
    /// user part, since where its password ends cannot be told.
    fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut parsed) if parsed.password().is_some() => match parsed.set_password(Some("***")) {
                Ok(()) => parsed.to_string(),
                Err(()) => "***".to_owned(),
            },
            Ok(_) => self.0.clone(),
            Err(_) => match (self.0.find("://"), self.0.rfind('@')) {
                (Some(scheme), Some(at)) if at > scheme => format!("{}***{}", &self.0[..scheme + 3], &self.0[at..]),
                _ => self.0.clone(),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::DatabaseUrl;

    #[test]
    fn the_password_never_prints() {
        let url = DatabaseUrl::new("postgres://jszg:s3cr%40t:x@db.internal:5432/jszg?sslmode=require");
        assert_eq!(url.to_string(), "postgres://jszg:***@db.internal:5432/jszg?sslmode=require");
        assert!(!format!("{url:?}").contains("s3cr"));
        assert_eq!(DatabaseUrl::new("sqlite://jszg.db").to_string(), "sqlite://jszg.db");
        assert_eq!(DatabaseUrl::new("postgres://db.internal/jszg").to_string(), "postgres://db.internal/jszg");
    }
}
