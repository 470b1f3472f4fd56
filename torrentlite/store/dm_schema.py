"""Tables of data management: file sets per category, one state row per report and category, actions."""
from __future__ import annotations

_NOW = "(strftime('%Y-%m-%d %H:%M:%f000', 'now'))"
SIG_TYPE = "Signal Processing Input"

DM_DDL = (
    # One row per category and version; the row flagged current is attached to new reports.
    'CREATE TABLE IF NOT EXISTS "dmfileset" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "type" TEXT NOT NULL, '
    '"description" TEXT NOT NULL DEFAULT \'\', "version" TEXT NOT NULL, "include" TEXT NOT NULL DEFAULT \'[]\', '
    '"exclude" TEXT NOT NULL DEFAULT \'[]\', "keepwith" TEXT NOT NULL DEFAULT \'{}\', "backup_directory" TEXT, '
    '"bandwidth_limit" INTEGER, "enabled" INTEGER NOT NULL DEFAULT 0, '
    '"auto_trigger_age" INTEGER NOT NULL DEFAULT 0, "auto_trigger_usage" INTEGER NOT NULL DEFAULT 0, '
    '"auto_action" TEXT NOT NULL DEFAULT \'OFF\', "del_empty_dir" INTEGER NOT NULL DEFAULT 1, '
    '"current" INTEGER NOT NULL DEFAULT 0, UNIQUE ("type", "version"))',
    # `stale` asks the background worker to measure the row's disk space again.
    'CREATE TABLE IF NOT EXISTS "dmfilestat" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, '
    '"result_id" INTEGER NOT NULL REFERENCES "results"("id") ON DELETE CASCADE, '
    '"dmfileset_id" INTEGER NOT NULL REFERENCES "dmfileset"("id") ON DELETE CASCADE, '
    '"action_state" TEXT NOT NULL DEFAULT \'L\', "archivepath" TEXT, "diskspace" REAL, '
    '"files_in_use" TEXT NOT NULL DEFAULT \'\', "preserve_data" INTEGER NOT NULL DEFAULT 0, '
    f'"user_comment" TEXT NOT NULL DEFAULT \'{{}}\', "created" TEXT NOT NULL DEFAULT {_NOW}, '
    '"stale" INTEGER NOT NULL DEFAULT 1, UNIQUE ("result_id", "dmfileset_id"))',
    'CREATE INDEX IF NOT EXISTS "ix_dmfilestat_state" ON "dmfilestat" ("action_state")',
    # The journal of archive/export/delete actions: what a restart resumes.
    'CREATE TABLE IF NOT EXISTS "dmaction" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, '
    '"filestat_id" INTEGER NOT NULL REFERENCES "dmfilestat"("id") ON DELETE CASCADE, '
    '"action" TEXT NOT NULL, "destination" TEXT NOT NULL DEFAULT \'\', "username" TEXT NOT NULL DEFAULT \'\', '
    '"comment" TEXT NOT NULL DEFAULT \'\', "phase" TEXT NOT NULL DEFAULT \'queued\', '
    '"total_bytes" INTEGER NOT NULL DEFAULT 0, "done_bytes" INTEGER NOT NULL DEFAULT 0, '
    '"error" TEXT NOT NULL DEFAULT \'\', '
    f'"created" TEXT NOT NULL DEFAULT {_NOW}, "updated" TEXT NOT NULL DEFAULT {_NOW})',
    'CREATE INDEX IF NOT EXISTS "ix_dmaction_phase" ON "dmaction" ("phase")',
    # Every new report gets one state row per current category, dated as the report (automatic
    # actions go by its age); a report of an experiment that already has one shares its
    # signal-processing state (the raw data is the experiment's).
    'CREATE TRIGGER IF NOT EXISTS "dm_rows_for_new_report" AFTER INSERT ON "results" BEGIN '
    'INSERT OR IGNORE INTO "dmfilestat" ("result_id", "dmfileset_id", "created", "action_state", "archivepath", '
    f'"diskspace") SELECT NEW."id", fs."id", COALESCE(NEW."timeStamp", {_NOW}), '
    + ", ".join(
        f'COALESCE((SELECT s."{col}" FROM "dmfilestat" s JOIN "results" r ON r."id" = s."result_id" '
        f'JOIN "dmfileset" f2 ON f2."id" = s."dmfileset_id" WHERE fs."type" = \'{SIG_TYPE}\' '
        f'AND f2."type" = fs."type" AND r."experiment_id" = NEW."experiment_id" AND r."id" != NEW."id" '
        f'ORDER BY s."id" LIMIT 1), {default})'
        for col, default in (("action_state", "'L'"), ("archivepath", "NULL"), ("diskspace", "NULL")))
    + ' FROM "dmfileset" fs WHERE fs."current" = 1; END',
    # A plugin job that starts or ends changes what the report folder holds.
    'CREATE TRIGGER IF NOT EXISTS "dm_stale_after_plugin_job" AFTER UPDATE OF "state" ON "PluginResultJob" '
    'BEGIN UPDATE "dmfilestat" SET "stale" = 1 WHERE "result_id" = '
    '(SELECT "result_id" FROM "pluginresult" WHERE "id" = NEW."plugin_result_id"); END',
)
