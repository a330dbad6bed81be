/** The `rules` subcommands, by name. */
import type { Command } from '../../command';
import { deleteCommand } from './delete';
import { exportCommand } from './export';
import { getCommand } from './get';
import { importCommand } from './import';
import { listCommand } from './list';
import { putCommand } from './put';
import { reportCommand } from './report';
import { validateCommand } from './validate';

export const RULES_COMMANDS: Readonly<Record<string, Command>> = Object.freeze({
  list: listCommand,
  get: getCommand,
  put: putCommand,
  delete: deleteCommand,
  import: importCommand,
  export: exportCommand,
  validate: validateCommand,
  report: reportCommand,
});
