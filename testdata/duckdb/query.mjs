// Runs one SQL query with DuckDB (npm @duckdb/node-api) and prints the rows
// as JSON: the independent reader of lagoon's interoperability tests.
// Usage: node query.mjs "SELECT ..."   or   node query.mjs @file.sql
import { DuckDBInstance } from '@duckdb/node-api';
import { readFileSync } from 'node:fs';

const arg = process.argv[2];
const sql = arg.startsWith('@') ? readFileSync(arg.slice(1), 'utf8') : arg;
const db = await DuckDBInstance.create(':memory:', { threads: '2' });
const conn = await db.connect();
const reader = await conn.runAndReadAll(sql);
process.stdout.write(JSON.stringify(reader.getRowObjectsJson()));
