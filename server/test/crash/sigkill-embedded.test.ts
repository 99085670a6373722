// The SIGKILL crash test (sigkill-scenario.ts) on the embedded log.
import { sigkillTest } from "./sigkill-scenario.js";

sigkillTest("embedded");
