const answer = await fetch("/api/time").then((response) => response.json());
document.getElementById("time").textContent = `The server's time: ${answer.now}`;
