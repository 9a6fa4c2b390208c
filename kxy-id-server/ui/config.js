// How a database configuration is named on every page: its type's names and default
// port, and its database (or "all databases").

/** [db_type, name in tables, name in the form's list, default port] */
export const DB_TYPES = [
  ['mysql', 'MySQL', 'MySQL / MariaDB', 3306],
  ['postgresql', 'PostgreSQL', 'PostgreSQL', 5432],
  ['sqlserver', 'SQL Server', 'SQL Server', 1433],
  ['oracle', 'Oracle', 'Oracle', 1521],
];
export const typeLabel = (type) => (DB_TYPES.find(([t]) => t === type) || [type, type])[1];
export const defaultPort = (type) => (DB_TYPES.find(([t]) => t === type) || [0, 0, 0, ''])[3];

export function databaseName(config) {
  return config.db_name ? config.db_name : 'all databases';
}
