/**
 * Naming rules shared by the proto generator and the runtime converter, so
 * both agree on every message, field and enum name without reading the proto.
 */

/** "tellJoke" → "TellJoke"; "back_story" → "BackStory". */
export function pascalCase(name: string): string {
  return words(name)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase())
    .join('');
}

/** "backStory" → "back_story" (proto field names). */
export function snakeCase(name: string): string {
  return words(name)
    .map((w) => w.toLowerCase())
    .join('_');
}

/** "backStory" → "BACK_STORY"; "c++" → "C_PLUS_PLUS" (enum value names). */
export function upperSnakeCase(name: string): string {
  const spelled = name.replace(/\+/g, ' plus ').replace(/#/g, ' sharp ');
  const snake = words(spelled)
    .map((w) => w.toUpperCase())
    .join('_');
  return /^[0-9]/.test(snake) ? `V${snake}` : snake || 'EMPTY';
}

/**
 * ts-proto's default field naming (`snakeToCamel=keys`): "back_story" →
 * "backStory". Mirrors ts-proto's `snakeToCamel` for lower-case input.
 */
export function tsProtoFieldName(protoFieldName: string): string {
  if (!protoFieldName.includes('_')) return protoFieldName;
  return protoFieldName
    .split('_')
    .map((word, i) => (i === 0 ? word : word.charAt(0).toUpperCase() + word.slice(1)))
    .join('');
}

/** ts-proto names a service method after the RPC with a lower-case first letter. */
export function tsProtoMethodName(rpcName: string): string {
  return rpcName.charAt(0).toLowerCase() + rpcName.slice(1);
}

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean);
}
