import assert from "node:assert/strict";
import {loadLance} from "../../src/engine/store/lance.js";
import {sqlAnd, sqlEq, sqlIn, sqlNotIn, sqlString} from "../../src/engine/store/sql.js";
import {makeTempDir, removeDir} from "../support/storeFixtures.js";

describe("store SQL escaping", function () {
    it("quotes strings and doubles inner single quotes", function () {
        assert.equal(sqlString("plain"), "'plain'");
        assert.equal(sqlString("it's"), "'it''s'");
        assert.equal(sqlString("''"), "''''''");
        assert.equal(sqlString(`a\\b"c`), `'a\\b"c'`);
        assert.throws(() => sqlString(42 as never), TypeError);
    });

    it("builds IN, NOT IN, = and AND, and refuses odd column names", function () {
        assert.equal(sqlIn("id", ["a", "b'c"]), "id IN ('a', 'b''c')");
        assert.equal(sqlIn("id", []), "false");
        assert.equal(sqlNotIn("outcome", []), "true");
        assert.equal(sqlNotIn("outcome", ["rejected"]), "outcome NOT IN ('rejected')");
        assert.equal(sqlEq("workspace", "x"), "workspace = 'x'");
        assert.equal(sqlAnd(undefined, "a = 1", "", "true", "b = 2"), "(a = 1) AND (b = 2)");
        assert.equal(sqlAnd(undefined, "true"), undefined);
        assert.throws(() => sqlEq("id = 'x' OR 1=1 --", "y"), TypeError);
        assert.throws(() => sqlIn("a b", ["y"]), TypeError);
    });

    it("matches exactly the stored value in LanceDB, whatever characters it holds", async function () {
        const dir = await makeTempDir();
        try {
            const {lancedb} = await loadLance();
            const db = await lancedb.connect(dir);
            const values = ["it's", "''", "a\\b", "a\\'b", `x"y`, "new\nline", "%_*", "\u0000z", "' OR '1'='1", "🦓", "; DROP TABLE t; --", "\\"];
            const table = await db.createTable("t", values.map((value, i) => ({id: value, n: i})));
            for (const [i, value] of values.entries()) {
                const rows = await table.query().where(sqlEq("id", value)).toArray();
                assert.deepEqual(rows.map((row) => row.n), [i], JSON.stringify(value));
            }
            assert.equal(await table.countRows(sqlIn("id", values)), values.length);
            assert.equal(await table.countRows(sqlNotIn("id", values.slice(1))), 1);
            table.close();
            db.close();
        } finally {
            await removeDir(dir);
        }
    });
});
