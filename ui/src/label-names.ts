// Which label names the label filter offers. Pyroscope's stored label sets carry reserved names
// (`__name__`, `__profile_type__`, `__service_name__`, `__type__`, `__unit__`, `__period_type__`,
// `__period_unit__`, ...): the page picks service and profile type elsewhere, so every `__*__`
// name is hidden, as Grafana's profiles app hides them, and so is `service_name`.

export function isFilterableLabelName(name: string): boolean {
  if (name === 'service_name') return false;
  return !(name.length > 4 && name.startsWith('__') && name.endsWith('__'));
}

export function filterableLabelNames(names: readonly string[]): string[] {
  return names.filter(isFilterableLabelName);
}
