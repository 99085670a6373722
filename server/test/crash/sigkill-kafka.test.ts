// The SIGKILL crash test (sigkill-scenario.ts) on Kafka, when the test run has a broker.
import { sources } from "../helpers/server.js";
import { sigkillTest } from "./sigkill-scenario.js";

if (sources().includes("kafka")) sigkillTest("kafka");
