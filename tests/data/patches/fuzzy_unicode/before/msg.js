// Say “hello” — politely
const s = ‘hi’;
console.log(s);
