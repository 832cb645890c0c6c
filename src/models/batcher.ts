/**
 * Gathers calls that arrive together into one batch: the first call of a quiet moment waits for
 * the rest of its turn of the event loop, and calls arriving while a batch runs wait for it to
 * end and then go together — no timer, so a lone call is not delayed and a busy server makes
 * large batches by itself.
 */
export class MicroBatcher<In, Out> {
  private queue: Array<{ input: In; resolve: (out: Out) => void; reject: (e: unknown) => void }> =
    [];
  private running = false;
  private scheduled = false;

  /**
   * `run` gets the inputs of one batch and answers each, in order: an output or an Error for
   * that input alone. `maxBatch` caps the inputs of one batch.
   */
  constructor(
    private readonly run: (inputs: In[]) => Promise<Array<Out | Error>>,
    private readonly maxBatch = 256,
  ) {}

  submit(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.running || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.running) return;
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    this.running = true;
    try {
      const outputs = await this.run(batch.map((b) => b.input));
      batch.forEach((b, i) => {
        const out = outputs[i];
        if (out instanceof Error) b.reject(out);
        else b.resolve(out as Out);
      });
    } catch (error) {
      for (const b of batch) b.reject(error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }
}
