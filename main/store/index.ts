export { openDatabase, NewerDatabaseError, type Db, type Migration } from './database';
export { query, command, jsonText, nullableInt, RowDecodeError, type Query } from './rows';
