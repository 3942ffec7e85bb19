// The C API for other native addons (native/include/evloop.h): where its header is, and the
// table of functions an addon's threads call to reach a loop.
import * as path from 'node:path';
import { addon, packageRoot } from './native';

/**
 * The absolute path of the directory holding `evloop.h`, for another addon's binding.gyp:
 * `"include_dirs": ["<!(node -p \"require('evloop').include\")"]`.
 */
export const include: string = path.join(packageRoot, 'native', 'include');

/**
 * The C API's function table (an `evloop_api_v1*` wrapped in an External), to hand to an addon
 * that reads it with `evloop_get_api()`. The same table in every thread; it stays valid for the
 * life of the process. Pair it with `loop.share()`, whose `id` the addon's threads post to.
 */
export function nativeApi(): object {
  return (addon as unknown as { nativeApi(): object }).nativeApi();
}
