/**
 * The only way a value reaches a LanceDB filter string. LanceDB filters are SQL (DataFusion) text,
 * so every value is turned into a literal here; no caller pastes a value into a predicate itself.
 */

/** A SQL string literal: wrapped in single quotes, inner single quotes doubled. Backslashes are not escapes in this dialect. */
export function sqlString(value: string): string {
    if (typeof value !== "string")
        throw new TypeError(`sqlString expects a string, got ${typeof value}`);

    return "'" + value.replaceAll("'", "''") + "'";
}

/** `column IN ('a', 'b')`; an empty list matches nothing. `column` must be one of the store's own column names. */
export function sqlIn(column: string, values: readonly string[]): string {
    assertColumn(column);
    if (values.length === 0)
        return "false";

    return `${column} IN (${values.map(sqlString).join(", ")})`;
}

/** `column NOT IN (...)`; an empty list matches everything. */
export function sqlNotIn(column: string, values: readonly string[]): string {
    assertColumn(column);
    if (values.length === 0)
        return "true";

    return `${column} NOT IN (${values.map(sqlString).join(", ")})`;
}

/** `column = 'value'`. */
export function sqlEq(column: string, value: string): string {
    assertColumn(column);
    return `${column} = ${sqlString(value)}`;
}

/** Joins predicates with AND, leaving out empty ones; undefined when none is left. */
export function sqlAnd(...predicates: (string | undefined)[]): string | undefined {
    const parts = predicates.filter((p): p is string => p != null && p !== "" && p !== "true");
    if (parts.length === 0)
        return undefined;

    return parts.map((p) => `(${p})`).join(" AND ");
}

function assertColumn(column: string): void {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(column))
        throw new TypeError(`Not a plain column name: ${JSON.stringify(column)}`);
}
