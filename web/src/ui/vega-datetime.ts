/**
 * `datetime(...)` as Vega's compiled expressions read it: JavaScript's `new Date(...)` with the same arguments, so
 * `datetime(1704067200000)` is that instant. vega-interpreter 2.3 reads a lone number as a year (`new Date(n, 0, 1)`),
 * which puts Vega-Lite's explicit time-axis ticks (`values`, compiled to `datetime(<epoch ms>)`) thousands of years
 * off the scale: the time axes of the API's charts lost every label. The runtime's own function table is consulted
 * before the interpreter's, so registering this one (vega-embed `expressionFunctions`) corrects it.
 */
export function datetime(...args: unknown[]): Date {
  return Reflect.construct(Date, args) as Date;
}
