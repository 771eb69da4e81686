// How a personal link carries its credential: in the URL's fragment
// (#acces=… for a student, #cle=… for the instructor), which browsers never
// send to a server, so proxies and access logs never see it. The page reads
// it, keeps it in the browser and removes it from the address bar. Imported
// by the CLI and by the browser code: no Node imports here.
export const STUDENT_LINK_KEY = 'acces';
export const INSTRUCTOR_LINK_KEY = 'cle';
