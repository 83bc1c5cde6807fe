// A function's result remembered for its last argument: for values that come again and again in a
// row (a message sent to its viewers and its poster, the node that posts every message, the
// millisecond several ids share), so the work is done once per run of them. Compared with ===, so
// NaN is never remembered.
export function rememberLast<A, R>(compute: (argument: A) => R): (argument: A) => R {
  let done = false;
  let last: A;
  let result: R;
  return (argument) => {
    if (!done || argument !== last) {
      result = compute(argument);
      last = argument;
      done = true;
    }
    return result;
  };
}
