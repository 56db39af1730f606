-- AlterTable
ALTER TABLE "User" ADD COLUMN     "displayName" TEXT;

-- Backfill (added by hand): existing users are shown under their name, or the local part of their email.
UPDATE "User" SET "displayName" = COALESCE("name", split_part("email", '@', 1)) WHERE "displayName" IS NULL;

-- AlterTable (added by hand): every user has a display name from now on.
ALTER TABLE "User" ALTER COLUMN "displayName" SET NOT NULL;
