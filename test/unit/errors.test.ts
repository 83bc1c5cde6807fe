import assert from 'node:assert/strict';
import { apiError, ERRORS, type ErrorCode } from '../../server/errors.js';

describe('error catalogue', () => {
  it('gives every error the code its key says, a 4xx/5xx status and a message', () => {
    for (const code of Object.keys(ERRORS) as ErrorCode[]) {
      const error = apiError(code);
      assert.deepEqual(error.toJSON(), { error: { code, message: ERRORS[code].message } });
      assert.ok(error.status >= 400 && error.status < 600);
      assert.ok(ERRORS[code].message.length > 10);
    }
  });
});
