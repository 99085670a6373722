// Events per second over the last few seconds, for the status line.

const SECONDS = 5;

export class RateMeter {
  private readonly buckets = new Array<number>(SECONDS).fill(0);
  private second = Math.floor(performance.now() / 1000);

  add(n: number): void {
    this.advance();
    this.buckets[this.second % SECONDS]! += n;
  }

  /** The mean over the last SECONDS - 1 whole seconds (the current one is still filling). */
  perSecond(): number {
    this.advance();
    let sum = 0;
    for (let i = 1; i <= SECONDS - 1; i++) sum += this.buckets[(this.second - i + SECONDS) % SECONDS]!;
    return sum / (SECONDS - 1);
  }

  reset(): void {
    this.buckets.fill(0);
  }

  private advance(): void {
    const now = Math.floor(performance.now() / 1000);
    for (let s = this.second + 1; s <= now && s <= this.second + SECONDS; s++) this.buckets[s % SECONDS] = 0;
    this.second = now;
  }
}
