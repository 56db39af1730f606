-- prisma-release: no-transaction
-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block; the directive above makes
-- prisma-release run this file outside of one. Keep it to this one statement: if it fails, drop the
-- invalid index it leaves behind ("Post_authorId_createdAt_idx") before deploying again.

-- CreateIndex
CREATE INDEX CONCURRENTLY "Post_authorId_createdAt_idx" ON "Post"("authorId", "createdAt");
