import { describe, expect, it } from 'vitest';
import { copyJson } from '../../src/db/copy-json.ts';

describe('copyJson', () => {
  it('copies every level, so changing the copy leaves the original as it was', () => {
    const original = JSON.parse('{"a":1,"b":"x","c":null,"d":true,"e":[1,{"f":[2,3]}],"g":{"h":{"i":"j"}}}');
    const copy = copyJson(original);
    expect(copy).toEqual(original);
    copy.e[1].f.push(4);
    copy.g.h.i = 'changed';
    copy.a = 2;
    expect(original).toEqual({ a: 1, b: 'x', c: null, d: true, e: [1, { f: [2, 3] }], g: { h: { i: 'j' } } });
  });

  it('keeps a "__proto__" field a field, as JSON.parse made it', () => {
    const original = JSON.parse('{"__proto__":{"polluted":true},"nested":{"__proto__":[1]}}');
    const copy = copyJson(original);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(Object.hasOwn(copy, '__proto__')).toBe(true);
    expect(copy.polluted).toBeUndefined();
    expect(Object.getOwnPropertyDescriptor(copy.nested, '__proto__')?.value).toEqual([1]);
    expect(JSON.stringify(copy)).toBe(JSON.stringify(original));
  });

  it('returns what is not an object as it is', () => {
    for (const value of [null, 0, 'text', false]) expect(copyJson(value)).toBe(value);
  });
});
