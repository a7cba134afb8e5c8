import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

/**
 * Where `command` would be found as a shell finds it: a path, if it is an executable file, else the first
 * executable of that name on `path` (with Windows' PATHEXT extensions). Undefined when there is none.
 */
export function findCommand(command: string, path = process.env.PATH ?? ""): string | undefined {
  if (isAbsolute(command) || command.includes("/") || command.includes("\\")) return executable(command) ? command : undefined;
  const extensions = process.platform === "win32" ? ["", ...(process.env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";")] : [""];
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    for (const extension of extensions) if (executable(join(dir, command + extension))) return join(dir, command + extension);
  }
  return undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, process.platform === "win32" ? constants.F_OK : constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
