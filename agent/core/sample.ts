export type Labels = Record<string, string>;
export type MetricType = 'gauge' | 'counter';

/**
 * One value of one series. HELP and TYPE travel with the sample because the Pushgateway
 * rejects a push whose HELP/TYPE differ from the same name pushed by another node: every
 * name must be declared in exactly one place (a `family`) so all nodes agree.
 */
export interface Sample {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly labels: Labels;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  (labels: Labels, value: number): Sample;
}

export function family(name: string, type: MetricType, help: string): Family {
  const make = (labels: Labels, value: number): Sample => ({ name, help, type, labels, value });
  // A function's own `name` is read-only to assignment, so define the properties instead.
  Object.defineProperties(make, {
    name: { value: name },
    help: { value: help },
    type: { value: type },
  });
  return make as unknown as Family;
}

export const gauge = (name: string, help: string): Family => family(name, 'gauge', help);
export const counter = (name: string, help: string): Family => family(name, 'counter', help);
