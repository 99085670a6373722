// The work one evaluation of a compiled query may do (limits.ts explains the
// units). Validation bounds the query; this bounds what a hostile value can
// make of it, e.g. a thousand conditions over an array of a million elements.
//
// One counter for the whole module is enough: an evaluation never starts
// another one before it returns (JavaScript runs it to completion, and each
// worker thread has its own copy of this module).

import { MAX_EVALUATION_STEPS, MAX_REGEX_WORK } from "./limits.js";

/** Thrown to end an evaluation that ran out of budget; the evaluation does not match. */
export class BudgetExceeded extends Error {
  constructor() {
    super("query evaluation budget exceeded");
    this.name = "BudgetExceeded";
  }
}

// One instance, made once: running out must not cost a stack trace each time.
const EXCEEDED = new BudgetExceeded();

let steps = 0;
let regexWork = 0;

/** Gives the evaluation that starts now its full budget. */
export function startEvaluation(): void {
  steps = MAX_EVALUATION_STEPS;
  regexWork = MAX_REGEX_WORK;
}

/** Charges `n` steps (array elements walked or compared). */
export function spendSteps(n: number): void {
  steps -= n;
  if (steps < 0) throw EXCEEDED;
}

/** Charges a regex test of `chars` characters on a program of `instructions`, before it runs. */
export function spendRegexWork(chars: number, instructions: number): void {
  regexWork -= chars * instructions;
  if (regexWork < 0) throw EXCEEDED;
}
