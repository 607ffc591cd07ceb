// Say “hello” — politely
const s = 'hello';
console.log(s);
