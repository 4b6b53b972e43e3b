// The MariaDB connector's public surface: the factory the catalogue registers, and its settings types.
export { createMariadbConnector } from "./mariadb-connector.js";
export type { GrantScope } from "./privileges.js";
export type { MariadbGrantSpec, MariadbTargetSettings } from "./settings.js";
