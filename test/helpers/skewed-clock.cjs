// Preloaded with `node -r` to run a process whose clock is DBX_TEST_CLOCK_SKEW_MS off (a node
// without NTP): Date.now() and new Date() shift, timers do not.
const off = Number(process.env.DBX_TEST_CLOCK_SKEW_MS || 0);
const RealDate = Date;
class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + off);
    else super(...args);
  }
  static now() {
    return RealDate.now() + off;
  }
}
globalThis.Date = SkewedDate;
