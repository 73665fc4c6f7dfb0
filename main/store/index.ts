export { openDatabase, NewerDatabaseError, type Db, type Migration } from './database';
