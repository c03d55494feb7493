/** The spec's default path, in a module of its own: the command line needs it before it loads any reader. */
export const DEFAULT_FLEET_FILE = "fleet.yaml";
