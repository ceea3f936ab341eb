//! What the service's readiness probe and metrics read of the ledger.

use crate::{Ledger, StoreError};

impl Ledger {
    /// Runs a trivial query: the database is reachable and answers.
    ///
    /// # Errors
    /// The database cannot be reached or does not answer.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The pool's open connections and how many of them are idle.
    pub fn pool_status(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }
}
